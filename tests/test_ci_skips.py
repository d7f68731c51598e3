"""The CI skip rule: only listed, justified skips may pass in CI (the hooks live in conftest.py)."""
import os
import subprocess
import sys

import pytest

from conftest import ALLOWED_SKIPS, ROOT, disallowed_skips


@pytest.mark.parametrize("skipped, expected", [
    ([], []),
    ([("t.py::a", "no data")], []),                                  # listed
    ([("t.py::a[1-x]", "no data")], []),                             # a parametrized case of a listed test
    ([("t.py::b", "no browser")], [("t.py::b", "no browser")]),      # not listed
    ([("t.py::ab", "other")], [("t.py::ab", "other")]),              # a longer name is another test
    ([("t.py", "import failed")], [("t.py", "import failed")]),      # a whole module skipped at import
])
def test_disallowed_skips(skipped, expected):
    assert disallowed_skips(skipped, {"t.py::a": "why it may skip"}) == expected


def test_every_allowed_skip_names_an_existing_test_and_says_why():
    for node, reason in ALLOWED_SKIPS.items():
        path, name = node.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), node
        assert len(reason.split()) >= 5, f"{node}: give the reason it may skip"


@pytest.mark.parametrize("ci, code", [("true", 1), ("", 0)])
def test_an_unlisted_skip_fails_the_run_only_in_ci(tmp_path, ci, code):
    test_file = tmp_path / "tests" / "test_skipping.py"
    test_file.parent.mkdir()
    assert (tmp_path / "corpus").is_dir()  # the copied conftest gives every test a copy of its ROOT/corpus
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "tests" / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    test_file.write_text("import pytest\n\n\ndef test_runs():\n    assert True\n\n\n"
                         "@pytest.mark.skip(reason='nothing to see')\ndef test_skipped():\n    pass\n")
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == code, run.stdout[-2000:]
    assert "tests/test_skipping.py::test_skipped: nothing to see" in run.stdout
    assert ("not in ALLOWED_SKIPS" in run.stdout) is (ci == "true")

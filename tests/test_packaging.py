"""Installable the Python way: pyproject.toml agrees with the pinned lock, and `pip install .` gives a `rag` command
whose package holds its prompts and fitted weights; installed, it keeps its data in a per-user folder."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from rag.settings import default_places

ROOT = Path(__file__).resolve().parent.parent


def requirements(lines: list[str]) -> dict[str, Requirement]:
    """The requirements of a requirements file's lines, by canonical name (comments and blank lines left out).

    ``requirements(['torch==2.13.0  # CPU', '', '# tools']) -> {'torch': <Requirement('torch==2.13.0')>}``
    """
    found = [Requirement(line.split("#", 1)[0].strip()) for line in lines if line.split("#", 1)[0].strip()]
    return {canonicalize_name(r.name): r for r in found}


def disagreements(pinned: dict[str, Requirement], declared: dict[str, Requirement]) -> list[str]:
    """What keeps the lock and the package's dependencies from agreeing: a name in one only, other extras, or a
    pinned version the declared range does not admit.

    ``disagreements({'a': Requirement('a==1.2.0')}, {'a': Requirement('a~=1.3')}) -> ['a: 1.2.0 is not in ~=1.3']``
    """
    problems = [f"{name}: in requirements.txt only" for name in sorted(pinned.keys() - declared.keys())]
    problems += [f"{name}: in pyproject.toml only" for name in sorted(declared.keys() - pinned.keys())]
    for name in sorted(pinned.keys() & declared.keys()):
        lock, package = pinned[name], declared[name]
        (version,) = [spec.version for spec in lock.specifier if spec.operator == "=="] or [None]
        if version is None:
            problems.append(f"{name}: requirements.txt does not pin one version ({lock.specifier})")
        elif not package.specifier.contains(version, prereleases=True):
            problems.append(f"{name}: {version} is not in {package.specifier}")
        if lock.extras != package.extras:
            problems.append(f"{name}: extras {sorted(lock.extras)} vs {sorted(package.extras)}")
    return problems


def test_disagreements_names_each_kind_of_mismatch():
    pinned = requirements(["a==1.2.0", "b[x]==2.0", "c==1.0"])
    declared = {canonicalize_name(r.name): r for r in map(Requirement, ["a~=1.3", "b~=2.0", "d>=1"])}
    assert disagreements(pinned, declared) == ["c: in requirements.txt only", "d: in pyproject.toml only",
                                               "a: 1.2.0 is not in ~=1.3", "b: extras ['x'] vs []"]


def test_pyproject_dependencies_agree_with_the_pinned_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}
    pinned = requirements((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    assert disagreements(pinned, declared) == []
    assert project["scripts"] == {"rag": "rag.cli:main"}


def test_the_built_wheel_holds_the_package_its_prompts_and_the_rag_command(tmp_path):
    source = tmp_path / "src"  # built from a copy, so the checkout gets no build/ or egg-info
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("rag", "prompts"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "wheel")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (tmp_path / "wheel").glob("ask_the_articles-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rag").rglob("*.py")}
    prompts = {f"rag/prompts/{p.name}" for p in (ROOT / "prompts").glob("*.txt")}
    assert modules <= names and prompts <= names and "rag/refusal_weights.json" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert re.search(r"^rag = rag\.cli:main$", zipfile.ZipFile(wheel).read(entry_points).decode(), re.M)


def test_a_checkout_keeps_its_own_folders_and_an_install_a_per_user_one(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "prompts").mkdir(parents=True)
    (checkout / "app.py").write_text("")
    assert default_places(checkout) == (checkout / ".rag", checkout / "corpus", checkout / "prompts")
    home, corpus, prompts = default_places(tmp_path / "site-packages", data_home=str(tmp_path / "share"))
    assert (home, corpus) == (tmp_path / "share" / "ask-the-articles", tmp_path / "share" / "ask-the-articles" / "corpus")
    assert prompts == ROOT / "rag" / "prompts"  # where the wheel puts them (the test above)

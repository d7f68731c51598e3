"""Shared fixtures: every test gets its own data folder and corpus copy; heavy models load once.

The real default model and the real embedder are used throughout; they are loaded once per
session (about 15 s) and shared, because loading them per test would dominate the run.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402  (sets the no-telemetry environment first)
from rag.settings import Settings  # noqa: E402

from rag.evaluation.testset import SEED_QUESTION  # noqa: E402,F401  (tests import it from here)
# The seed article gives its reason in four places, each naming China's open-source models (DeepSeek…);
# a right answer cites one of them.
SEED_REASON = re.compile(r"Chinese open[- ]source")


# The fast tier (`make check`, `pytest -m "not slow"`) runs what needs no model, no server and no browser. A test is
# slow when it asks for one of these fixtures (directly or through another), or is marked @pytest.mark.slow itself
# (a test that starts the app, a server or `python -m rag ask` in a subprocess).
SLOW_FIXTURES = frozenset({"llm", "assistant", "embedder", "index", "model_file", "app_server", "browser", "page",
                           "bench_result"})  # bench_result: a whole `rag bench` run (test_bench.py)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: needs the model, a server, the app or a browser (left out of `make check`)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def fast_tier_loads_no_model(request, monkeypatch):
    """Under `-m "not slow"`, a test that loads the model or the embedder in this process fails, saying to mark it
    slow: the fast tier stays fast because nothing in it can load one unnoticed."""
    if request.config.getoption("markexpr", "") != "not slow":
        return

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} loads a model: mark it @pytest.mark.slow (see SLOW_FIXTURES)")

    import rag.embeddings
    import rag.generation

    monkeypatch.setattr(rag.generation, "load_llama", refuse)
    monkeypatch.setattr(rag.embeddings, "load_sentence_model", refuse)


# Under CI=true a skipped test fails the run unless it is listed here with the reason it may skip.
ALLOWED_SKIPS = {
    "tests/test_testset.py::test_rgb_slice_format_and_evidence":
        "the RGB slice lives in ../shared, outside this repository; a clean clone has no copy of it",
    "tests/test_safety.py::test_no_sentence_of_the_rgb_corpus_is_dropped":
        "the RGB corpus lives in ../shared, outside this repository; a clean clone has no copy of it",
    "tests/test_grounding.py::test_nothing_of_the_rgb_corpus_is_missing_from_itself":
        "the RGB corpus lives in ../shared, outside this repository; a clean clone has no copy of it",
    "tests/test_specifics.py::test_no_sentence_of_the_rgb_corpus_is_marked_against_itself":
        "the RGB corpus lives in ../shared, outside this repository; a clean clone has no copy of it",
    "tests/test_specifics.py::test_a_sentence_copied_from_a_passage_of_the_rgb_corpus_is_never_marked":
        "the RGB corpus lives in ../shared, outside this repository; a clean clone has no copy of it",
    "tests/test_grounding.py::test_no_name_or_number_of_an_rgb_passage_is_missing_from_it":
        "the RGB corpus lives in ../shared, outside this repository; a clean clone has no copy of it",
}


def disallowed_skips(skipped: list[tuple[str, str]], allowed: dict[str, str]) -> list[tuple[str, str]]:
    """The (node id, reason) of each skip not in allowed; a parametrized test is listed by its base id.

    ``disallowed_skips([('t.py::a[1]', 'x'), ('t.py::b', 'y')], {'t.py::a': 'why'}) -> [('t.py::b', 'y')]``
    """
    return [(node, reason) for node, reason in skipped if node.split("[", 1)[0] not in allowed]


def skip_reason(report) -> str:
    """The reason pytest recorded for a skip (its longrepr is (file, line, reason))."""
    longrepr = report.longrepr
    return str(longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr).removeprefix("Skipped: ")


SKIPPED: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPPED.append((report.nodeid, skip_reason(report)))


def pytest_collectreport(report):
    if report.skipped:  # a whole module skipped at import (pytest.importorskip)
        SKIPPED.append((report.nodeid, skip_reason(report)))


def pytest_sessionfinish(session, exitstatus):
    """In CI, an unlisted skip fails the run: a check that did not run must not look like one that passed."""
    if os.environ.get("CI") == "true" and disallowed_skips(SKIPPED, ALLOWED_SKIPS) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    """Every skipped test with its reason, and in CI the ones that fail the run."""
    if not SKIPPED:
        return
    write = terminalreporter.write_line
    terminalreporter.section("skipped tests")
    for node, reason in SKIPPED:
        allowed = ALLOWED_SKIPS.get(node.split("[", 1)[0])
        write(f"{node}: {reason}" + (f" (allowed: {allowed})" if allowed else ""))
    bad = disallowed_skips(SKIPPED, ALLOWED_SKIPS)
    if os.environ.get("CI") == "true" and bad:
        write(f"CI=true: {len(bad)} skipped test(s) not in ALLOWED_SKIPS (tests/conftest.py) fail the run:", red=True)
        for node, reason in bad:
            write(f"  {node}: {reason}", red=True)


def is_loopback(address) -> bool:
    """True for Unix sockets and addresses on this machine (127.0.0.0/8, ::1, localhost)."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX path
    host = str(address[0])
    return host in ("localhost", "::1", "0.0.0.0", "") or host.startswith("127.") or host.startswith("::ffff:127.")


@pytest.fixture(scope="session", autouse=True)
def no_network_but_loopback():
    """Any connection from the test process to an outside address fails the test that made it."""
    import socket

    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex
    attempts = []

    def guard(connect):
        def checked(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
                attempts.append(address)
                raise OSError(f"test tried to reach {address}: the product must stay offline")
            return connect(sock, address)
        return checked

    socket.socket.connect, socket.socket.connect_ex = guard(original_connect), guard(original_connect_ex)
    yield attempts
    socket.socket.connect, socket.socket.connect_ex = original_connect, original_connect_ex
    assert not attempts, f"outside connections attempted: {attempts}"


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The bundled default model, prepared once into the project's data folder."""
    from rag.models import resolve_model

    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(clean)
    try:
        return resolve_model(Settings.load())
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch, request):
    """RAG_HOME and RAG_CORPUS point at temporary folders; other RAG_* variables are cleared."""
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAG_CORPUS", str(corpus))
    return tmp_path


@pytest.fixture
def corpus(isolated_env) -> Path:
    return isolated_env / "corpus"


@pytest.fixture(scope="session")
def embedder():
    from rag.embeddings import MiniLMEmbedding

    return MiniLMEmbedding()


@pytest.fixture(scope="session")
def llm(model_path):
    from rag.generation import load_llama

    return load_llama(Settings.load(model=model_path), model_path)


@pytest.fixture
def settings(isolated_env, model_path) -> Settings:
    return Settings.load(model=model_path)


@pytest.fixture
def assistant(settings, llm, embedder):
    """A real Assistant on the temporary corpus, already ingested."""
    from rag.pipeline import Assistant

    helper = Assistant(settings, llm=llm, embedder=embedder)
    helper.ingest()
    return helper


@pytest.fixture
def index(settings, embedder):
    from rag.index import Index

    return Index(settings, embedder)

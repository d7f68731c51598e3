"""llama-server is built once per machine: a clone finds it in the per-user cache, checked before use, and a
cached binary that is broken is built again, never copied (scripts/build_llama_server.sh)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_llama_server.sh"
CACHE = Path(os.environ.get("RAG_BUILD_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
             / "ask-the-articles")

pytestmark = pytest.mark.slow  # needs the binary `make llama-server` built into the cache


def cached_build() -> Path:
    """The folder of the cached build `make test` made (its key covers this machine), failing when there is none."""
    builds = [d for d in (CACHE / "llama-server").glob("*") if (d / "llama-server.sha256").is_file()]
    if not builds:
        pytest.fail(f"no cached llama-server under {CACHE}: `make llama-server` builds it (make test does)")
    return max(builds, key=lambda d: d.stat().st_mtime)


def clone_with_cache(tmp_path: Path, build: Path) -> tuple[Path, Path]:
    """A bare 'clone' (the script and the pinned requirements) and a private cache holding the sdist and this build."""
    clone, cache = tmp_path / "clone", tmp_path / "cache"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, clone / "scripts" / SCRIPT.name)
    shutil.copy(ROOT / "requirements.txt", clone / "requirements.txt")
    (cache / "sdist").mkdir(parents=True)
    for sdist in (CACHE / "sdist").glob("*.tar.gz"):
        os.symlink(sdist, cache / "sdist" / sdist.name)
    shutil.copytree(build, cache / "llama-server" / build.name, copy_function=os.link)
    return clone, cache


def run(clone: Path, cache: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(clone / "scripts" / SCRIPT.name)], cwd=clone, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "RAG_BUILD_CACHE": str(cache), "PIP": "false", **env})


def test_a_second_clone_copies_the_cached_binary_and_compiles_nothing(tmp_path):
    clone, cache = clone_with_cache(tmp_path, cached_build())
    done = run(clone, cache)
    assert done.returncode == 0, done.stderr
    assert "reusing the cached llama-server" in done.stderr and "building" not in done.stderr
    binary = clone / "build" / "llama-server" / "bin" / "llama-server"
    assert binary.is_file() and "version:" in done.stdout
    assert not (cache / "llama-server" / "last-failed-build.log").exists()


def test_a_broken_cached_binary_is_built_again_not_copied(tmp_path):
    clone, cache = clone_with_cache(tmp_path, cached_build())
    (broken,) = [d for d in (cache / "llama-server").iterdir() if d.is_dir()]
    binary = broken / "llama-server"
    data = binary.read_bytes()
    binary.unlink()  # a new file, so the real cache (linked) is untouched
    binary.write_bytes(data[:-1024] + b"\0" * 1024)
    binary.chmod(0o755)
    stubs = tmp_path / "stubs"  # a cmake that fails at once: the build is tried, not 12 CPU-minutes spent
    stubs.mkdir()
    real = shutil.which("cmake")  # its version is part of the cache key, so the stub gives it
    (stubs / "cmake").write_text(f'#!/bin/sh\n[ "$1" = --version ] && exec {real} --version\n'
                                 "echo 'cmake stub: no build in this test' >&2\nexit 1\n")
    (stubs / "cmake").chmod(0o755)
    done = run(clone, cache, PATH=f"{stubs}:{os.environ['PATH']}")
    assert done.returncode == 1
    assert "missing or broken; rebuilding" in done.stderr and "the build failed" in done.stderr, done.stderr
    assert not (clone / "build" / "llama-server" / "bin" / "llama-server").exists()

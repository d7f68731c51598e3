"""Real servers as subprocesses on free loopback ports: the model behind llama_cpp.server or llama.cpp's own
llama-server (built by `make llama-server`, started as `make serve-llama` starts it), the index behind `chroma run`.

Imported by the remote-backend and several-process tests: ``from tests.server_fixtures import llm_server``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import shutil
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.app_fixtures import ROOT, RunningApp, clean_env, free_port, stop, wait_until_up

START_TIMEOUT_S = 300  # the model loads in ~10 s on a quiet machine; these cores are shared
MODEL_ALIAS = "qwen-test"


@dataclass
class LlmServer:
    url: str  # ends with /v1
    process: subprocess.Popen
    log: Path
    api_key: str = ""

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def wait_for(url: str, process: subprocess.Popen, log: Path, headers: dict, timeout: float = START_TIMEOUT_S) -> None:
    """Poll url until it answers 200; fail with the server's log when it exits or times out."""
    wait_until_up(url, process, log, timeout, headers, name="server")


@contextmanager
def llm_server(model: Path, folder: Path, api_key: str = "", n_ctx: int = 4096) -> Iterator[LlmServer]:
    """``python -m llama_cpp.server`` serving model as MODEL_ALIAS on a free loopback port, same threads and seed as in-process.

    Started as ``python -m rag.cpu llama_cpp.server …``: the same server, its model loaded as the app loads its own
    (without llama.cpp's AMX kernels where they fault, rag/cpu.py).

    The chat format is not given, so the server takes the template the GGUF carries, as the in-process model does.
    """
    port = free_port()
    log = folder / f"llm-server-{port}.log"
    args = [sys.executable, "-m", "rag.cpu", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "2",
            "--n_threads_batch", "2", "--seed", "0"] + (["--api_key", api_key] if api_key else [])
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = f"http://127.0.0.1:{port}/v1"
        wait_for(url + "/models", process, log, {"Authorization": f"Bearer {api_key}"} if api_key else {})
        yield LlmServer(url, process, log, api_key)
    finally:
        stop(process)


LLAMA_SERVER = ROOT / "build" / "llama-server" / "bin" / "llama-server"


@contextmanager
def llama_server(model: Path, folder: Path, parallel: int = 1, api_key: str = "llama-test-key",
                 slot_ctx: int = 4096) -> Iterator[LlmServer]:
    """llama.cpp's llama-server through scripts/serve_llama.sh (the documented command), serving model as MODEL_ALIAS.

    The binary must have been built (``make test`` builds it first): a missing one fails the test, never skips it.
    """
    if not LLAMA_SERVER.is_file():
        pytest.fail(f"{LLAMA_SERVER.relative_to(ROOT)} is missing: build it with `make llama-server` (make test does).")
    port = free_port()
    log = folder / f"llama-server-{port}.log"
    env = {**os.environ, "PARALLEL": str(parallel), "SLOT_CTX": str(slot_ctx), "LLM_PORT": str(port),
           "LLM_HOST": "127.0.0.1", "LLM_API_KEY": api_key, "LLM_MODEL_FILE": str(model), "LLM_ALIAS": MODEL_ALIAS}
    with open(log, "wb") as out:
        process = subprocess.Popen(["sh", str(ROOT / "scripts" / "serve_llama.sh")], stdout=out,
                                   stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        wait_for(f"http://127.0.0.1:{port}/health", process, log, {})
        yield LlmServer(url, process, log, api_key)
    finally:
        stop(process)


@contextmanager
def chroma_server(folder: Path) -> Iterator[int]:
    """``chroma run`` over folder on a free loopback port; yields the port."""
    port = free_port()
    chroma, log = Path(sys.executable).parent / "chroma", folder.parent / f"chroma-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(chroma), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", process, log, {}, 60)
        yield port
    finally:
        stop(process)


@contextmanager
def running_apps(folder: Path, count: int, **env: str) -> Iterator[list[RunningApp]]:
    """count ``app.py`` processes on their own ports and data folders, sharing one corpus folder (and whatever env shares).

    Processes sharing an index must share the corpus folder too: an ingest removes documents whose file it cannot see.
    """
    corpus = folder / "shared-corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    with ExitStack() as stack:
        apps, processes = [], []
        for n in range(count):
            port, home, log = free_port(), folder / f"home-{n}", folder / f"app-{n}.log"
            app_env = clean_env(RAG_HOME=str(home), RAG_CORPUS=str(corpus), GRADIO_TEMP_DIR=str(folder / f"uploads-{n}"),
                                PYTHONUNBUFFERED="1", **env)
            with open(log, "wb") as out:
                process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--host", "127.0.0.1"],
                                           cwd=ROOT, env=app_env, stdout=out, stderr=subprocess.STDOUT)
            stack.callback(stop, process)
            processes.append((process, log))
            apps.append(RunningApp(f"http://127.0.0.1:{port}/", corpus, home, log))
        for app, (process, log) in zip(apps, processes):
            wait_until_up(app.url, process, log, START_TIMEOUT_S)
        yield apps


def killed_mid_answer(server: LlmServer, generator, **stream_options) -> tuple[str, Exception]:
    """Start a long answer on server through generator, kill the server after the first piece and read on:
    (the first piece, the one error the rest of the stream raised)."""
    from rag.errors import ModelError

    pieces = generator.stream([{"role": "user", "content": "Write a long story about a lighthouse keeper."}], 400, 0.0,
                              **stream_options)
    first = next(pieces)
    server.process.kill()
    server.process.wait()
    with pytest.raises(ModelError) as caught:
        for _ in pieces:
            pass
    return first, caught.value

"""The model behind a URL: a real llama_cpp.server serving the bundled GGUF on loopback, against the in-process model.

One server (with an API key) serves the module; the mid-stream test starts and kills its own.
"""
from __future__ import annotations

import math
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.pipeline import Assistant
from rag.remote import RemoteGenerator, estimate_tokens, pick_model, server_root, sse_payloads, yes_share
from rag.settings import Settings
from tests.app_fixtures import clean_env, free_port, model_file  # noqa: F401  (fixture)
from tests.conftest import ROOT, SEED_QUESTION, SEED_REASON
from tests.server_fixtures import MODEL_ALIAS, killed_mid_answer, llm_server

KEY = "remote-test-key"
YES_NO = [{"role": "system", "content": "Answer with yes or no."},
          {"role": "user", "content": "Sources: [1] OpenAI released gpt-oss to counter Chinese open models.\n"
                                      "Do the sources answer: why did OpenAI release gpt-oss?"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_file):  # noqa: F811
    with llm_server(model_file, tmp_path_factory.mktemp("llm"), api_key=KEY) as running:
        yield running


def remote_settings(server, **overrides) -> Settings:
    values = dict(llm_url=server.url, llm_model=MODEL_ALIAS, llm_api_key=KEY, model=Path("/nonexistent/model.gguf"))
    return Settings.load(**{**values, **overrides})


def is_one_sentence(message: str) -> bool:
    """A user-facing error: one line, ends with a full stop, no traceback or exception class."""
    return "\n" not in message and message.endswith(".") and "Traceback" not in message and "Error:" not in message


# -- pure logic ------------------------------------------------------------------------------------
def test_yes_share_normalises_over_yes_and_no():
    assert yes_share([("Yes", math.log(0.6)), (" no", math.log(0.2)), ("Maybe", math.log(0.2))]) == pytest.approx(0.75)
    assert yes_share([("YES", math.log(0.1)), ("yes", math.log(0.1)), ("No", math.log(0.2))]) == pytest.approx(0.5)
    assert yes_share([("Maybe", 0.0)]) == 0.5


def test_wire_helpers():
    assert server_root("http://gpu-box:8080/v1/") == "http://gpu-box:8080"
    assert list(sse_payloads(['data: {"a":1}', "", ": ping", "data: [DONE]"])) == ['{"a":1}', "[DONE]"]
    assert estimate_tokens("") == 0 and estimate_tokens("In 2018 it rained.") == 15
    assert pick_model(None, ["qwen"], "u") == "qwen"
    with pytest.raises(ModelError, match="serves: qwen"):
        pick_model("llama", ["qwen"], "u")


def test_estimate_never_undercounts_the_seed_article(model_file):  # noqa: F811
    """The fallback count is above Qwen's own count for the article and for each of its sentences."""
    from llama_cpp import Llama

    from rag.text import sentences

    vocab = Llama(model_path=str(model_file), vocab_only=True, verbose=False)
    text = next((ROOT / "corpus").glob("*.md")).read_text(encoding="utf-8")
    pieces = [text] + [text[a:b] for a, b in sentences(text)]
    for piece in pieces:
        assert estimate_tokens(piece) >= len(vocab.tokenize(piece.encode(), add_bos=False, special=False))


# -- against the real server -------------------------------------------------------------------
def test_seed_answer_and_citations_match_in_process(server, settings, llm, embedder):
    remote = Assistant(remote_settings(server), embedder=embedder)
    assert "llama" not in type(remote.generator).__name__.lower() and remote.generator.warm("x") == "skipped"
    assert remote.generator.describe()["tokenizer"] == "/extras/tokenize"
    remote.ingest()
    local = Assistant(settings, llm=llm, embedder=embedder)
    got, want = remote.ask(SEED_QUESTION), local.ask(SEED_QUESTION)
    assert not got.refused and SEED_REASON.search(got.answer), got.answer
    assert got.answer == want.answer
    assert [(c.n, c.chunk_id) for c in got.citations] == [(c.n, c.chunk_id) for c in want.citations]
    assert got.timings.prompt_tokens == want.timings.prompt_tokens  # the server's tokenizer is the model's own
    assert got.model == MODEL_ALIAS


def test_yes_probability_matches_in_process(server, model_file):  # noqa: F811
    """Against llama.cpp in this process on the same messages (logprobs need logits_all, as the server has by default)."""
    from llama_cpp import Llama

    from rag.cpu import safe_model_params

    remote = RemoteGenerator(remote_settings(server)).yes_probability(YES_NO)
    with safe_model_params(model_file):
        local_llm = Llama(model_path=str(model_file), n_ctx=512, n_threads=2, logits_all=True, seed=0, verbose=False)
    reply = local_llm.create_chat_completion(messages=YES_NO, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=10)
    top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    local = yes_share([(t["token"], t["logprob"]) for t in top])
    assert remote > 0.5 and remote == pytest.approx(local, abs=0.02)


def test_remote_start_never_loads_the_in_process_model(server, tmp_path):
    """In a fresh process, with RAG_MODEL pointing nowhere: llama_cpp is never imported, the answer comes from the server."""
    code = ("import sys, rag; from rag.pipeline import Assistant; a = Assistant(); "
            "print('llama_cpp' in sys.modules, a.generator.describe()['name'], a.settings.n_ctx)")
    env = clean_env(RAG_HOME=str(tmp_path / "home"), RAG_LLM_URL=server.url, RAG_LLM_MODEL=MODEL_ALIAS,
                    RAG_LLM_API_KEY=KEY, RAG_MODEL="/nonexistent/model.gguf", RAG_LLM_N_CTX="2048")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", MODEL_ALIAS, "2048"]  # llama_cpp.server reports no window: the setting


@pytest.mark.parametrize("case, expected", [
    ("wrong port", "Cannot reach the model server"),
    ("wrong model", f"does not serve 'no-such-model' (it serves: {MODEL_ALIAS})"),
    ("wrong key", "refused the API key (HTTP 401)"),
    ("no key", "refused the API key (HTTP 401)"),
])
def test_errors_are_one_sentence(server, case, expected):
    overrides = {"wrong port": dict(llm_url=f"http://127.0.0.1:{free_port()}/v1"),
                 "wrong model": dict(llm_model="no-such-model"),
                 "wrong key": dict(llm_api_key="not-the-key"), "no key": dict(llm_api_key=None)}[case]
    settings = remote_settings(server)
    settings = settings.model_copy(update=overrides)
    with pytest.raises(ModelError) as caught:
        RemoteGenerator(settings)
    assert expected in str(caught.value) and is_one_sentence(str(caught.value))


def test_cli_shows_an_unreachable_server_in_one_line(tmp_path):
    env = clean_env(RAG_HOME=str(tmp_path / "home"), RAG_LLM_URL=f"http://127.0.0.1:{free_port()}/v1")
    done = subprocess.run([sys.executable, "-m", "rag", "ask", SEED_QUESTION], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Cannot reach the model server" in lines[0] and "Traceback" not in done.stderr, done.stderr


def test_a_server_that_never_answers_times_out():
    """A real socket that accepts the connection and then says nothing: the timeout setting bounds the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        with pytest.raises(ModelError) as caught:
            RemoteGenerator(Settings.load(llm_url=url, llm_timeout_s=1.5))
    assert "did not answer within 1.5 s" in str(caught.value) and is_one_sentence(str(caught.value))


def test_a_server_killed_mid_answer_is_one_sentence(tmp_path, model_file):  # noqa: F811
    with llm_server(model_file, tmp_path) as doomed:
        generator = RemoteGenerator(Settings.load(llm_url=doomed.url))
        first, error = killed_mid_answer(doomed, generator)
    assert first and "stopped in the middle of the answer" in str(error) and is_one_sentence(str(error))


def test_streamed_token_logprobs_are_read_in_openai_format_and_absent_ones_skipped():
    from rag.remote import token_logprobs

    choice = {"delta": {"content": " May"}, "logprobs": {"content": [{"token": " May", "logprob": -1.2, "bytes": None}]}}
    assert token_logprobs(choice) == [(" May", -1.2)]
    assert token_logprobs({"delta": {"content": "x"}, "logprobs": None}) == []  # llama_cpp.server streams none

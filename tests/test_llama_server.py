"""The model behind llama.cpp's own llama-server (built from the pinned sdist by `make llama-server`), against the
in-process model: the answer, its citations, its refusal and its confidence; slots used; a killed server.

One two-slot server (with an API key) serves the module; the mid-stream test starts and kills its own.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.pipeline import Answer, Assistant
from rag.remote import RemoteGenerator, window_of
from rag.settings import Settings
from tests.app_fixtures import model_file  # noqa: F401  (fixture)
from tests.conftest import SEED_QUESTION, SEED_REASON
from tests.server_fixtures import MODEL_ALIAS, killed_mid_answer, llama_server
from tests.test_remote import is_one_sentence

KEY = "llama-server-test-key"
SLOTS = 2
OTHER_QUESTION = "What did Altman say about export controls?"  # its answer has words the seed answer lacks


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_file):  # noqa: F811
    with llama_server(model_file, tmp_path_factory.mktemp("llama"), parallel=SLOTS, api_key=KEY) as running:
        yield running


def remote_settings(server, **overrides) -> Settings:
    values = dict(llm_url=server.url, llm_model=MODEL_ALIAS, llm_api_key=KEY, model=Path("/nonexistent/model.gguf"))
    return Settings.load(**{**values, **overrides})


def test_window_of_reads_the_slot_window():
    assert window_of({"default_generation_settings": {"n_ctx": 2048}, "total_slots": 4}) == 2048
    assert window_of({}) == 0


def test_the_server_reports_its_slots_and_their_window(server):
    generator = RemoteGenerator(remote_settings(server))
    assert generator.slots == SLOTS and generator.n_ctx == 4096  # --ctx-size 2 × 4096, one window per slot
    assert generator.describe()["tokenizer"] == "/tokenize" and generator.describe()["slots"] == SLOTS
    with pytest.raises(ModelError, match="refused the API key"):
        RemoteGenerator(remote_settings(server, llm_api_key="not-the-key"))


def test_seed_answer_citations_and_confidence_match_in_process(server, settings, llm, embedder):
    remote = Assistant(remote_settings(server), embedder=embedder)
    assert remote.slots.n == SLOTS
    remote.ingest()
    local = Assistant(settings, llm=llm, embedder=embedder)
    got, want = remote.ask(SEED_QUESTION), local.ask(SEED_QUESTION)
    assert not got.refused and SEED_REASON.search(got.answer), got.answer
    assert [c.chunk_id for c in got.citations] == [c.chunk_id for c in want.citations]
    assert got.timings.prompt_tokens == want.timings.prompt_tokens  # the server's tokenizer is the model's own
    assert got.confidence is not None and want.confidence is not None
    assert got.confidence == pytest.approx(want.confidence, abs=0.03), (got.answer, want.answer)
    assert got.model == MODEL_ALIAS


def test_a_question_outside_the_corpus_is_refused(server, embedder):
    remote = Assistant(remote_settings(server), embedder=embedder)
    remote.ingest()
    answer = remote.ask("Who won the 2022 World Cup?")
    assert answer.refused and answer.citations == [] and answer.answer == remote.prompts.refusal


def test_two_questions_are_answered_at_once_without_cross_talk(server, embedder):
    """Both streams are under way together (each has its first piece before either ends), and each answer is its own."""
    remote = Assistant(remote_settings(server), embedder=embedder)
    remote.ingest()
    events: dict[str, list] = {SEED_QUESTION: [], OTHER_QUESTION: []}

    def ask(question):
        for event in remote.stream(question):
            events[question].append((time.monotonic(), event))
    threads = [threading.Thread(target=ask, args=(q,)) for q in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    seed, other = (events[q] for q in (SEED_QUESTION, OTHER_QUESTION))
    assert isinstance(seed[-1][1], Answer) and isinstance(other[-1][1], Answer)
    assert max(seed[0][0], other[0][0]) < min(seed[-1][0], other[-1][0]), "the second answer waited for the first"
    assert not seed[-1][1].refused and SEED_REASON.search(seed[-1][1].answer), seed[-1][1].answer
    streamed = {q: "".join(e for _, e in events[q][:-1]) for q in events}  # each stream's pieces are its own answer's
    assert SEED_REASON.search(streamed[SEED_QUESTION]) and "export control" in streamed[OTHER_QUESTION].lower(), streamed
    assert not SEED_REASON.search(streamed[OTHER_QUESTION]), streamed


def test_a_server_killed_mid_answer_is_one_sentence(tmp_path, model_file):  # noqa: F811
    with llama_server(model_file, tmp_path, api_key=KEY) as doomed:
        generator = RemoteGenerator(Settings.load(llm_url=doomed.url, llm_api_key=KEY))
        tokens: list = []
        first, error = killed_mid_answer(doomed, generator, logprobs=tokens)
    assert first and tokens and all(lp <= 0 for _, lp in tokens)  # token log-probabilities streamed in OpenAI's format
    assert "stopped in the middle of the answer" in str(error) and is_one_sentence(str(error))

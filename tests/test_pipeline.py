"""End to end through the real model and the real Chroma: answers, citations, refusals, errors."""
import pytest

from rag.errors import IndexEmptyError, QuestionError
from rag.pipeline import Answer, check_question

from conftest import SEED_QUESTION, SEED_REASON


def cited_texts(answer):
    return " ".join(c.text for c in answer.citations)


def test_seed_question_is_answered_from_the_passage_that_says_so(assistant):
    events = list(assistant.stream(SEED_QUESTION))
    pieces, answer = events[:-1], events[-1]
    assert isinstance(answer, Answer) and len(pieces) > 3, "the answer is streamed in pieces"
    assert not answer.refused
    assert "chin" in answer.answer.lower(), answer.answer
    assert answer.citations, f"no citation in: {answer.answer}"
    assert any(c.supported for c in answer.citations)
    assert any(SEED_REASON.search(c.text) for c in answer.citations), cited_texts(answer)
    for c in answer.citations:
        assert 1 <= c.n <= len(answer.passages) and f"[{c.n}]" in answer.answer
    t = answer.timings
    assert 0 < t.retrieve_ms <= t.ttft_ms <= t.total_ms and t.prompt_tokens > 50 and t.completion_tokens > 3


def test_question_outside_the_corpus_is_refused_without_citations(assistant):
    answer = assistant.ask("Who won the 2022 World Cup?")
    assert answer.refused and answer.citations == []
    assert answer.answer == assistant.prompts.refusal
    assert answer.passages, "the closest passages are still offered"


def test_follow_up_is_rewritten_into_a_standalone_question(assistant):
    history = [("What does Sam Altman think about China's AI progress?",
                "He thinks it is multi-layered and that America may underestimate it [1].")]
    answer = assistant.ask("And what does he think about export controls?", history)
    assert "altman" in answer.standalone_question.lower(), answer.standalone_question
    assert "export" in answer.standalone_question.lower()
    # Retrieval used the rewritten question: passages on export controls are among the sources.
    assert any("export controls" in p.text for p in answer.passages)
    assert not answer.refused and answer.answer.strip()


def test_json_shape(assistant):
    data = assistant.ask("What does Altman think about export controls?").to_json()
    assert set(data) >= {"question", "answer", "refused", "citations", "timings", "model"}
    assert set(data["timings"]) >= {"retrieve_ms", "ttft_ms", "total_ms", "prompt_tokens", "completion_tokens"}
    for citation in data["citations"]:
        assert set(citation) == {"n", "doc_id", "title", "source", "chunk_id", "text", "start", "end", "supported"}
    assert data["model"].endswith(".gguf")


@pytest.mark.parametrize("question, message", [
    ("", "Please type a question"),
    ("   \n\t ", "Please type a question"),
    ("x" * 5000, "limit is 4,000"),
])
def test_bad_questions_get_a_clear_message(assistant, question, message):
    with pytest.raises(QuestionError, match=message):
        assistant.ask(question)


def test_control_characters_are_removed_not_the_question():
    assert check_question("  Why?\x07 ", 100) == "Why?"


def test_empty_index_says_how_to_fill_it(settings, llm, embedder, corpus):
    from rag.pipeline import Assistant

    empty = Assistant(settings, llm=llm, embedder=embedder)
    with pytest.raises(IndexEmptyError, match="rag ingest"):
        empty.ask(SEED_QUESTION)


@pytest.mark.parametrize("question", [
    "¿Por qué OpenAI lanzó gpt-oss?",
    "<b>What</b> does Altman think of export controls? <script>alert(1)</script>",
])
def test_other_languages_and_markup_get_an_answer_not_a_crash(assistant, question):
    answer = assistant.ask(question)
    assert answer.answer.strip() and answer.passages
    assert all(1 <= c.n <= len(answer.passages) for c in answer.citations)
    assert "<script>" not in answer.answer

"""End to end through the real model and the real Chroma: answers, citations, refusals, errors."""
import pytest

from rag.errors import IndexEmptyError, QuestionError
from rag.generation import as_asked
from rag.answerability import relevant_enough
from rag.pipeline import Answer, check_question, context_budget
from rag.retrieval import Passage
from rag.settings import Settings

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


FOLLOW_UP_HISTORY = [("What does Sam Altman think about China's AI progress?",
                      "He thinks it is multi-layered and that America may underestimate it [1].")]


def test_a_follow_up_is_searched_with_the_conversation_and_answered_without_a_rewrite(assistant):
    calls = []
    complete = assistant.generator.complete
    assistant.generator.complete = lambda *a, **k: calls.append(a) or complete(*a, **k)  # counts model rewrites
    try:
        answer = assistant.ask("And what does he think about export controls?", FOLLOW_UP_HISTORY)
    finally:
        assistant.generator.complete = complete
    assert calls == [], "rewrite=context makes no model call"
    assert answer.standalone_question == ("What does Sam Altman think about China's AI progress? "
                                          "And what does he think about export controls?")
    assert any("export controls" in p.text for p in answer.passages)
    assert not answer.refused and "export" in answer.answer.lower(), answer.answer
    # The model reads the follow-up as asked, with the question it follows after it.
    assert as_asked(assistant.prompts, "And what does he think about export controls?",
                    answer.standalone_question, "context") == (
        "And what does he think about export controls? (This follows the earlier question: "
        "What does Sam Altman think about China's AI progress?)")


def test_follow_up_is_rewritten_into_a_standalone_question(assistant):
    # What is tested is the rewrite and the retrieval it drives; the confidence floor, measured on whole test
    # sets (docs/evaluation.md), is off here: this one answer's confidence sits near it and moves with any change
    # to the prompt.
    answer = assistant.ask("And what does he think about export controls?", FOLLOW_UP_HISTORY, min_confidence=0.0,
                           rewrite="auto")
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
        assert set(citation) == {"n", "doc_id", "title", "source", "date", "chunk_id", "text", "start", "end", "supported"}
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


@pytest.mark.parametrize("question, evidence", [
    ("¿Por qué OpenAI lanzó gpt-oss?", "gpt-oss"),
    ("<b>What</b> does Altman think of export controls? <script>alert(1)</script>", "export controls don’t work"),
])
def test_other_languages_and_markup_get_an_answer_not_a_crash(assistant, question, evidence):
    answer = assistant.ask(question)
    assert answer.answer.strip() and answer.question == question  # the question is kept as asked, markup included
    assert any(evidence in p.text for p in answer.passages), [p.text for p in answer.passages]
    assert all(1 <= c.n <= len(answer.passages) for c in answer.citations)


def scored(similarity):
    return Passage("c", "d", "T", "a.md", "text", 0, 4, similarity=similarity)


@pytest.mark.parametrize("similarities, expected", [
    ([0.05, 0.4], True),     # one passage reached the floor by dense similarity
    ([0.05, None], False),   # the dense-scored passage is below the floor; a BM25-only one is not judged
    ([0.05, 0.09], False),   # every passage below the floor
    ([None, None], True),    # nothing judged (BM25 mode): the model is asked and may refuse itself
    ([], True),
    ([0.1], True),           # reaching the floor exactly is enough
])
def test_relevant_enough_rule(similarities, expected):
    assert relevant_enough([scored(s) for s in similarities], 0.1) is expected


@pytest.mark.parametrize("n_ctx, max_tokens, context_tokens, fixed, expected", [
    (4096, 256, 1200, 300, 1200),        # the context setting is the limit
    (4096, 256, 100000, 3000, 776),      # the window is: 4096 - 256 - 3000 - 64
])
def test_context_budget(n_ctx, max_tokens, context_tokens, fixed, expected):
    settings = Settings(n_ctx=n_ctx, max_tokens=max_tokens, context_tokens=context_tokens)
    assert context_budget(settings, fixed) == expected


LONG_QUESTION = "S" + (("setting aside everything about chips, fabs, export controls and open-weight models, and thinking "
                       "about research, products and infrastructure, ") * 12 + "what does Altman think about export controls?")[1:]


def test_a_long_question_and_a_large_context_never_overflow_the_window(assistant, llm, monkeypatch):
    """The real model's prompt, counted in its own tokens with the chat template, fits n_ctx - max_tokens."""
    prompt_lengths = []
    real = llm.create_completion

    def measured(*args, **kwargs):  # the real call, with the prompt's length written down
        prompt = kwargs["prompt"] if "prompt" in kwargs else args[0]
        prompt_lengths.append(len(prompt) if isinstance(prompt, list) else len(llm.tokenize(prompt.encode(), special=True)))
        return real(*args, **kwargs)

    monkeypatch.setattr(llm, "create_completion", measured)
    limits = dict(n_ctx=1024, max_tokens=16, context_tokens=100000, context_mode="passages", top_k=20,
                  max_question_chars=100000, min_relevance=-1.0)
    assert assistant.generator.count(LONG_QUESTION) > 250
    answer = assistant.ask(LONG_QUESTION, **limits)
    assert prompt_lengths, "the model was asked"
    assert max(prompt_lengths) <= 1024 - 16, prompt_lengths
    assert answer.passages, "room was left for sources"


def test_a_question_that_leaves_no_room_for_sources_is_refused_with_a_reason(assistant):
    with pytest.raises(QuestionError, match="too long for the model's 512-token window"):
        assistant.ask(LONG_QUESTION * 2, n_ctx=512, max_tokens=16, max_question_chars=100000)


def test_sources_first_yields_the_passages_before_the_first_token(assistant):
    from rag.pipeline import Retrieved

    events = list(assistant.stream(SEED_QUESTION, sources_first=True, max_tokens=24))
    found, pieces, answer = events[0], events[1:-1], events[-1]
    assert isinstance(found, Retrieved) and pieces and all(isinstance(p, str) for p in pieces)
    assert found.passages == answer.passages and found.retrieve_ms == answer.timings.retrieve_ms
    assert not any(isinstance(e, Retrieved) for e in assistant.stream(SEED_QUESTION, max_tokens=16)), "opt-in only"

"""Scoring the next token by reading only a prompt's new tail: yes/no probabilities on the real model."""
import pytest

from rag.generation import build_messages, rewrite_messages
from rag.kvcache import chat_prompt_tokens, prompt_snapshot, read_static_prefix, yes_share
from rag.retrieval import Passage

from conftest import SEED_QUESTION


@pytest.mark.parametrize("logits, yes, no, expected", [
    ([2.0, 0.0, -9.0], [0], [1], 0.881),
    ([0.0, 0.0, 5.0], [0], [1], 0.5),       # the mass elsewhere does not matter: yes and no are compared
    ([1.0, 1.0, 1.0], [0, 2], [1], 0.667),  # several spellings of yes add up
    ([1.0, 1.0], [], [], 0.5),               # neither spelling is one token: undecided
])
def test_yes_share(logits, yes, no, expected):
    assert yes_share(logits, yes, no) == pytest.approx(expected, abs=0.001)


def sources_messages(assistant, text: str, question: str) -> list[dict]:
    passage = Passage("c", "d", "Local news", "news.md", text, 0, len(text))
    messages = build_messages(assistant.prompts, [passage], question)
    lines = messages[-1]["content"].rstrip().split("\n")
    lines[-1] = "Do the sources above state the answer to this exact question? Reply with yes or no only."
    return [*messages[:-1], {**messages[-1], "content": "\n".join(lines)}], messages


def test_yes_probability_tells_a_stated_answer_from_a_missing_one_and_leaves_the_answer_unchanged(assistant):
    text = "The city council voted on Tuesday to close the old bridge for repairs costing 2 million euros."
    check, answer_messages = sources_messages(assistant, text, "How much will the bridge repairs cost?")
    before = assistant.generator.complete(answer_messages, 40)
    stated = assistant.generator.yes_probability(check)
    missing = assistant.generator.yes_probability(sources_messages(assistant, text, "Who won the 2018 Tour de France?")[0])
    assert 0.0 <= missing < stated <= 1.0
    assert assistant.generator.complete(answer_messages, 40) == before  # the check does not disturb the answer


def test_chat_prompt_tokens_are_what_the_chat_completion_reads(assistant):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": SEED_QUESTION}]
    tokens = chat_prompt_tokens(assistant.generator.llm, messages)
    text = assistant.generator.llm.detokenize(tokens).decode("utf-8")
    assert "Be brief." in text and SEED_QUESTION in text and text.rstrip().endswith("assistant")


def test_the_rewrite_puts_the_system_prompt_state_back(assistant):
    """After a follow-up's rewrite the cache holds the system prompt again (tokens and KV state: the answer after it
    is the one written after a fresh read), so the answer reads only its own part."""
    generator, llm = assistant.generator, assistant.generator.llm
    text = "The city council voted on Tuesday to close the old bridge for repairs costing 2 million euros."
    _, answer_messages = sources_messages(assistant, text, "How much will the bridge repairs cost?")
    read_static_prefix(llm, assistant.prompts.system)
    expected = generator.complete(answer_messages, 24)
    read_static_prefix(llm, assistant.prompts.system)
    generator.static_state = prompt_snapshot(llm)  # as warm() keeps it
    cached = list(llm.input_ids[:llm.n_tokens])
    rewritten = generator.complete(rewrite_messages(assistant.prompts, [("Who is Sam Altman?", "The CEO of OpenAI [1].")],
                                                    "What does he think about export controls?"), 32)
    assert "altman" in rewritten.lower() and list(llm.input_ids[:llm.n_tokens]) == cached
    wanted = chat_prompt_tokens(llm, answer_messages)
    shared = next(i for i, (a, b) in enumerate(zip(wanted, cached)) if a != b)
    assert shared >= len(cached) - 8  # all but the user turn's stand-in "." and the closing markup
    generator.static_state = None  # the answer itself must not be followed by a restore, to compare like with like
    assert generator.complete(answer_messages, 24) == expected

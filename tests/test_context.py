"""Context selection: pure tests and Hypothesis properties (named invariants) for rag.context."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from rag.context import (RUN_COST, SEED_SHARE, Sentence, choose, cost_of, lexical_scores, runs, score_sentences,
                         select_sentences, split_sentences)
from rag.retrieval import Passage


def words(text: str) -> int:
    """A deterministic stand-in for the model's tokenizer: one token per word or punctuation mark."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def passage_of(document: str, start: int, end: int, n: int = 0) -> Passage:
    return Passage(f"doc:{n}", "doc", "Title", "doc.txt", document[start:end], start, end)


DOCUMENT = ("The council met on Tuesday. It voted to close the old bridge for repairs. "
            "Work starts in May and costs 2 million euros. The mayor was not there. "
            "Heavy rain is expected this weekend.")


def test_short_pieces_and_abbreviations_are_read_with_the_next_sentence():
    text = "The goal? To build a broader developer ecosystem. From his view, the U.S. focus on chips is myopic."
    got = split_sentences([passage_of(text, 0, len(text))], words)
    assert [text[s.start:s.end] for s in got] == ["The goal? To build a broader developer ecosystem.",
                                                  "From his view, the U.S. focus on chips is myopic."]


def test_split_sentences_gives_offsets_into_each_passage():
    p = passage_of(DOCUMENT, 0, len(DOCUMENT))
    got = split_sentences([p], words)
    assert [p.text[s.start:s.end] for s in got][:2] == ["The council met on Tuesday.",
                                                        "It voted to close the old bridge for repairs."]
    assert all(s.passage == 0 and s.tokens == words(p.text[s.start:s.end]) for s in got)


def test_lexical_scores_prefer_rare_question_words():
    scores = lexical_scores("How much do the bridge repairs cost?", ["The bridge repairs cost 2 million.",
                                                                     "The bridge is old.", "Rain is expected."])
    assert scores[0] > scores[1] > scores[2] == 0.0
    assert lexical_scores("the of and", ["anything"]) == [0.0]  # no content words: nothing to match


def test_choose_keeps_the_best_sentence_with_its_neighbours_within_budget():
    sentences = [Sentence(0, i * 10, i * 10 + 9, 10) for i in range(5)]
    assert choose(sentences, [0.1, 0.2, 0.9, 0.3, 0.0], 15) == {2}
    assert choose(sentences, [0.1, 0.2, 0.9, 0.3, 0.0], 40) == {1, 2, 3}  # 4 + 11 + 11 + 11
    assert choose([], [], 100) == set()


def test_spread_keeps_every_seed_that_fits_before_any_neighbour():
    sentences = [Sentence(0, i * 10, i * 10 + 9, 10) for i in range(3)]
    assert choose(sentences, [0.9, 0.1, 0.8], 30) == {0, 1}  # the best with its neighbour
    assert choose(sentences, [0.9, 0.1, 0.8], 30, spread=True) == {0, 2}  # two relevant sentences first
    assert choose(sentences, [0.9, 0.1, 0.8], 45, spread=True) == {0, 1, 2}  # room left: the neighbour joins them


def test_neighbours_never_cross_passages():
    sentences = [Sentence(0, 0, 9, 5), Sentence(1, 0, 9, 5)]
    assert choose(sentences, [0.9, 0.0], 12) == {0}


def test_runs_merge_contiguous_sentences_of_one_passage_only():
    sentences = [Sentence(0, 0, 4, 1), Sentence(0, 5, 9, 1), Sentence(1, 0, 4, 1), Sentence(1, 5, 9, 1)]
    assert runs(sentences, {0, 1, 2}) == [(0, 0, 9), (1, 0, 4)]
    assert runs(sentences, {1, 3}) == [(0, 5, 9), (1, 5, 9)]


def test_select_sentences_answers_with_exact_document_spans():
    first, second = passage_of(DOCUMENT, 0, 75, 1), passage_of(DOCUMENT, 76, len(DOCUMENT), 2)
    got = select_sentences("How much will the bridge repairs cost?", [first, second], words, 40)
    assert got, "the sentence about the cost must be kept"
    assert any("2 million euros" in p.text for p in got)
    for p in got:
        assert DOCUMENT[p.start:p.end] == p.text
    assert cost_of([p.text for p in got], words) <= 40


def test_select_sentences_of_nothing_is_nothing():
    assert select_sentences("Why?", [], words, 100) == []
    assert select_sentences("Why?", [passage_of("   ", 0, 3)], words, 100) == []


# ---------- properties ----------

SENTENCE = st.builds(lambda ws, end: " ".join(ws) + end,
                     st.lists(st.sampled_from(["bridge", "council", "rain", "cost", "May", "repairs", "vote", "2",
                                               "million", "mayor", "old", "the", "a"]), min_size=1, max_size=12),
                     st.sampled_from([".", "!", "?", ".\n"]))
DOCS = st.lists(SENTENCE, min_size=1, max_size=25).map(" ".join)


@st.composite
def passages_of_a_document(draw):
    """A document and 1–4 non-overlapping passages of it, in a random rank order."""
    document = draw(DOCS)
    cuts = sorted(set(draw(st.lists(st.integers(0, len(document)), min_size=2, max_size=8))))
    spans = [(a, b) for a, b in zip(cuts, cuts[1:]) if document[a:b].strip()]
    spans = draw(st.permutations(spans)) if spans else [(0, len(document))]
    return document, [passage_of(document, a, b, n) for n, (a, b) in enumerate(spans[:4])]


QUESTION = st.sampled_from(["How much do the repairs cost?", "When does the council vote?", "Rain?", "Who?"])


@hsettings(max_examples=150, deadline=None)
@given(passages_of_a_document(), QUESTION, st.integers(0, 200))
def test_selected_sources_are_exact_slices_inside_their_passages(case, question, budget):
    document, passages = case
    for source in select_sentences(question, passages, words, budget):
        assert document[source.start:source.end] == source.text  # offsets exact
        assert any(p.start <= source.start and source.end <= p.end and p.doc_id == source.doc_id
                   and p.chunk_id == source.chunk_id for p in passages)  # inside its own passage


@hsettings(max_examples=150, deadline=None)
@given(passages_of_a_document(), QUESTION, st.integers(0, 200))
def test_budget_respected(case, question, budget):
    _, passages = case
    assert cost_of([s.text for s in select_sentences(question, passages, words, budget)], words) <= budget


@hsettings(max_examples=150, deadline=None)
@given(passages_of_a_document(), QUESTION, st.integers(0, 200))
def test_order_preserved_and_runs_disjoint(case, question, budget):
    _, passages = case
    got = select_sentences(question, passages, words, budget)
    rank = {p.chunk_id: n for n, p in enumerate(passages)}
    keys = [(rank[s.chunk_id], s.start) for s in got]
    assert keys == sorted(keys)  # passages in rank order, text order within each
    for a, b in zip(got, got[1:]):
        assert a.chunk_id != b.chunk_id or a.end < b.start  # runs of one passage neither touch nor overlap


@hsettings(max_examples=100, deadline=None)
@given(passages_of_a_document(), QUESTION)
def test_a_budget_for_everything_keeps_every_seed_with_its_neighbours(case, question):
    _, passages = case
    sentences = split_sentences(passages, words)
    relevance = score_sentences(question, passages, sentences)
    got = select_sentences(question, passages, words, 100_000)
    best = max(relevance, default=0.0)
    for i, s in enumerate(sentences):
        near = [j for j in (i - 1, i, i + 1) if 0 <= j < len(sentences) and sentences[j].passage == s.passage]
        if not any(relevance[j] > 0 and relevance[j] >= SEED_SHARE * best for j in near):
            continue
        p = passages[s.passage]
        assert any(g.chunk_id == p.chunk_id and g.start <= p.start + s.start and p.start + s.end <= g.end for g in got)


@pytest.mark.parametrize("budget", [0, RUN_COST])
def test_a_budget_too_small_for_any_sentence_selects_nothing(budget):
    assert select_sentences("bridge", [passage_of(DOCUMENT, 0, len(DOCUMENT))], words, budget) == []


def test_the_real_pipeline_cites_exact_document_text(assistant, corpus):
    """End to end with the real model: every source the model saw is the document's own text at its offsets."""
    from rag.documents import load_document

    answer = assistant.ask("Why did OpenAI release gpt-oss?", context_mode="sentences", sentence_tokens=120)
    documents = {}
    assert answer.passages and sum(assistant.generator.count(p.text) for p in answer.passages) <= 120
    for p in answer.passages:
        doc = documents.setdefault(p.source, load_document(corpus / p.source, corpus))
        assert doc.text[p.start:p.end] == p.text
    for c in answer.citations:
        assert documents[c.source].text[c.start:c.end] == c.text

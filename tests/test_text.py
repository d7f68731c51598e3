"""The one set of text rules: sentences, words and [n] markers, with worked cases and properties."""
import pytest
from hypothesis import given, settings, strategies as st

from rag.text import (content_words, numbers, parse_markers, sentence_spans, sentences, stands_alone, strip_markers,
                      words)


@pytest.mark.parametrize("text, expected", [
    ("Altman said the U.S. may be underestimating China.", ["Altman said the U.S. may be underestimating China."]),
    ("Dr. Smith met Mr. Jones at 5 p.m. on Jan. 3. They talked.",
     ["Dr. Smith met Mr. Jones at 5 p.m. on Jan. 3.", "They talked."]),
    ("Prices rose 3.5% in Q2. Analysts (e.g. at J.P. Morgan) were surprised.",
     ["Prices rose 3.5% in Q2.", "Analysts (e.g. at J.P. Morgan) were surprised."]),
    ("MENLO PARK, Calif. , Feb. 19, 2014 -- Facebook today said so. Yes.",
     ["MENLO PARK, Calif. , Feb. 19, 2014 -- Facebook today said so.", "Yes."]),
    ("The poster read: <script>window.__pwned = true</script> Welcome! Fine.",
     ["The poster read: <script>window.__pwned = true</script> Welcome!", "Fine."]),
    ("Prices rose. [3] Sales fell [1].", ["Prices rose. [3]", "Sales fell [1]."]),  # a marker cites what it follows
    ("Heading\nFirst line. Second line.", ["Heading", "First line.", "Second line."]),
])
def test_sentences(text, expected):
    assert [text[a:b] for a, b in sentences(text)] == expected


def test_sentence_spans_mark_paragraph_ends():
    assert sentence_spans("Hi. Yo!\n\nNew.") == [(0, 3, False), (4, 7, True), (9, 13, True)]


PIECES = st.sampled_from(["The U.S.", "Dr. Li", "said", "it rained.", "Calif.", "2018", "Yes!", "[2]", "e.g.",
                          "window.__x", "“Go.”", "no", "J. Smith", "\n", "\n\n", "Prices rose 3.5%."])
TEXTS = st.lists(PIECES, min_size=1, max_size=25).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_sentences_cover_the_text_in_order_and_leave_only_whitespace_between(text):
    spans = sentences(text)
    cursor = 0
    for start, end in spans:
        assert cursor <= start < end <= len(text)
        assert not text[cursor:start].strip(), "only whitespace is left between sentences"
        assert text[start:end] == text[start:end].strip(), "offsets point at the sentence, not its spaces"
        cursor = end
    assert not text[cursor:].strip()
    assert all("\n" not in text[a:b] for a, b in spans), "a line break always ends a sentence"


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.sampled_from(["U.S.", "Dr.", "Mr.", "Calif.", "J.", "e.g."]))
def test_an_abbreviation_never_ends_a_sentence(text, abbreviation):
    """...within a line: a line break (a heading, a list) ends a sentence whatever precedes it."""
    text = f"{text} {abbreviation} Next words follow."
    for _, end in sentences(text):
        at_line_end = not text[end:].split("\n", 1)[0].strip() and "\n" in text[end:]
        assert at_line_end or not text[:end].endswith(" " + abbreviation), text


@pytest.mark.parametrize("text, expected", [
    ("Yes [1, 3].", [(3, 10, [1, 3])]),
    ("See [Source 2] and [4][5].", [(3, 14, [2]), (18, 22, [4]), (22, 25, [5])]),
    ("No markers [x].", []),
])
def test_parse_markers(text, expected):
    assert parse_markers(text) == expected


def test_words_numbers_and_markers():
    assert words("Altman's U.S. plan-B") == ["altman", "s", "u", "s", "plan", "b"]
    assert content_words("The chips are banned") == {"chip", "bann"}
    assert numbers("The 2018 Tour, stage 3 of 21, gpt-oss-120b") == {"2018", "3", "21"}
    assert strip_markers("Prices rose [1]. Yes [2, 3] .") == "Prices rose. Yes."


@pytest.mark.parametrize("question, alone", [
    ("What did OpenAI release in August?", True),
    ("What does Altman think about export controls?", True),
    ("Why did he say that?", False),          # points back twice
    ("What does it cost?", False),
    ("And Meta?", False),                      # too short, and opens with "and"
    ("What about the chips from Nvidia?", False),
    ("Who founded the Zorblax river festival?", True),
    ("Is it true that they left?", False),
])
def test_stands_alone(question, alone):
    assert stands_alone(question) is alone

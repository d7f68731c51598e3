"""Answer-side specifics: the names, numbers and months of an answer sentence that its cited sources do not hold."""
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from rag.citations import Claim, ground_claims
from rag.specifics import mark_unheld, months, names, numbers, readings, unheld, unheld_share
from tests.test_safety import article_sentences

ROOT = Path(__file__).resolve().parent.parent
RGB_CORPUS = ROOT.parent / "shared" / "bench" / "rgb" / "corpus"


@pytest.mark.parametrize("sentence, sources, question, lacking", [
    ("OpenAI released gpt-oss-120b in May.", ["OpenAI released gpt-oss-120b and gpt-oss-20b."], "", ["May"]),
    ("OpenAI released gpt-oss-120b in August.", ["Dated 2025-08-05. OpenAI released gpt-oss-120b."], "", []),
    ("It cost 1200 dollars over two rounds.", ["It cost $1,200, paid in 2 rounds."], "", []),  # numbers as numbers
    ("It cost 1.2 million dollars.", ["The price: $1,200,000."], "", []),
    ("It cost 1.3 million dollars.", ["The price: $1,200,000."], "", ["1.3 million"]),
    ("He won the 2nd stage on 5 August 2025.", ["Aug. 5, 2025: he won the second stage."], "", []),  # dates as dates
    ("It was released on June 19, 2020.", ["Release: 6/19/2020."], "", []),
    ("It was released on 6/19/2020.", ["It came out on June 19, 2020."], "", []),
    ("It was released on July 19, 2020.", ["Release: 6/19/2020."], "", ["July"]),
    ("He won the 3rd stage on 5 August 2025.", ["Aug. 5, 2025: he won the second stage."], "", ["3rd"]),
    ("The Marlow memo called export controls useless.", ["Altman said export controls don't work."], "", ["Marlow"]),
    ("Huang met Altman.", ["Altman spoke."], "What did Huang say?", []),  # the question supplies Huang
    ("Nvidia sells the H25 to China.", ["Nvidia sells the H20 to China."], "", ["H25"]),
    ("The U.S. and Chinese labs compete.", ["The United States competes with China."], "", []),  # aliases, stems
    ("One of them works.", ["Nothing about numbers."], "", []),  # "one of": no count
    ("Two of them work.", ["Nothing about numbers."], "", ["Two"]),
])
def test_unheld(sentence, sources, question, lacking):
    assert unheld(sentence, sources, question) == lacking


def test_readings_and_numbers():
    assert readings("1,200") == {1200.0} and readings("1", ".2", "million") == {1.2, 1200000.0}
    assert numbers("Two chips cost $1,200 [1].", answer=True) == {"1,200": {1200.0}, "Two": {2.0}}
    assert numbers("one of twenty-five") == {"one": {1.0}, "twenty-five": {25.0}}
    assert numbers("Dated 2025-08-05.") == {"2025": {2025.0}, "08": {8.0}, "05": {5.0}}


def test_months_are_dates_not_names():
    assert months("Out in Aug. 2025, dated 2024-05-01.") == {"Aug": 8, "2024-05-01": 5}
    assert months("May it ship in May?", answer=True) == {"May": 5}  # "May it": a verb opening the sentence
    assert [c.text for c in names("Nvidia sold the H20 to China in August 2025.")] == ["H20", "China"]


def test_a_sentence_naming_what_its_sources_lack_is_not_grounded_whatever_the_check_says():
    claims = [Claim("It shipped in May.", [1], [1], checked={1: 0.95}), Claim("It shipped.", [1], [1], checked={1: 0.9}),
              Claim("Uncited May.")]
    mark_unheld(claims, ["It shipped in 2025."])
    assert [c.unheld for c in claims] == [["May"], [], []]
    assert [c.grounded for c in ground_claims(claims, 0.4)] == [False, True, False]
    assert unheld_share(claims) == 0.5


def corpus_sentences(paths) -> list[str]:
    return [s for s in article_sentences(paths) if len(s) > 1]


SEED = corpus_sentences(sorted((ROOT / "corpus").glob("*.md")))


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_a_sentence_copied_from_a_passage_of_the_seed_article_is_never_marked(data):
    """A run of consecutive sentences is a passage; any one of them, as an answer sentence citing it, holds nothing
    the passage lacks (and the question plays no part)."""
    start = data.draw(st.integers(0, len(SEED) - 1))
    passage = " ".join(SEED[start:start + data.draw(st.integers(1, 4))])
    sentence = data.draw(st.sampled_from(SEED[start:start + 4]).filter(lambda s: s in passage))
    assert unheld(sentence, [passage]) == []


def test_no_sentence_of_the_seed_article_is_marked_against_itself():
    assert len(SEED) > 40
    assert [s for s in SEED if unheld(s, [s])] == []


@pytest.mark.skipif(not RGB_CORPUS.is_dir(), reason="../shared/bench/rgb is not beside this checkout")
def test_no_sentence_of_the_rgb_corpus_is_marked_against_itself():
    found = corpus_sentences(sorted(RGB_CORPUS.glob("*.txt")))
    assert len(found) > 1500
    assert [s for s in found if unheld(s, [s])] == []


def documents_sentences(paths) -> list[list[str]]:
    return [found for found in (corpus_sentences([path]) for path in paths) if found]


@pytest.mark.skipif(not RGB_CORPUS.is_dir(), reason="../shared/bench/rgb is not beside this checkout")
@given(st.data())
@settings(max_examples=200, deadline=None)
def test_a_sentence_copied_from_a_passage_of_the_rgb_corpus_is_never_marked(data):
    docs = RGB_DOCS()
    doc = data.draw(st.sampled_from(docs))
    start = data.draw(st.integers(0, len(doc) - 1))
    passage = " ".join(doc[start:start + 4])
    assert unheld(data.draw(st.sampled_from(doc[start:start + 4])), [passage]) == []


def RGB_DOCS(cache={}):  # noqa: B006  (read once per session, only when the corpus is there)
    if "docs" not in cache:
        cache["docs"] = documents_sentences(sorted(RGB_CORPUS.glob("*.txt")))
    return cache["docs"]

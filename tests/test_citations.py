"""Citation parsing, cleaning, support checks, highlights and refusal detection (pure logic, and MiniLM for one case)."""
import pytest
from hypothesis import given, strategies as st

from rag.citations import (attribute, check_claims, clean_markers, content_words, highlight_spans, is_refusal, lexical_support,
                           parse_markers, passage_sentences, split_claims, unbacked_specifics)

REFUSAL = "The articles do not answer this question."


@pytest.mark.parametrize("text, expected", [
    ("Yes [1, 3].", [(3, 10, [1, 3])]),
    ("A [2][4]", [(1, 5, [2]), (5, 8, [4])]),
    ("See [Source 2].", [(3, 14, [2])]),
    ("No markers.", []),
])
def test_parse_markers(text, expected):
    assert parse_markers(text) == expected


@pytest.mark.parametrize("text, valid, expected", [
    ("A [1][7]. B [2, 9].", {1, 2}, "A [1]. B [2]."),
    ("Only bad [5].", {1, 2}, "Only bad."),
    ("Dup [1] [1].", {1}, "Dup [1]."),
    ("Mixed [1; 2; 3]", {2}, "Mixed [2]"),
])
def test_clean_markers(text, valid, expected):
    assert clean_markers(text, valid) == expected


@given(st.lists(st.integers(0, 30), max_size=8), st.sets(st.integers(1, 6)))
def test_every_remaining_citation_points_at_a_source(numbers, valid):
    text = " ".join(f"Claim {i} [{n}]." for i, n in enumerate(numbers))
    cleaned = clean_markers(text, valid)
    assert {n for _, _, ns in parse_markers(cleaned) for n in ns} <= valid


def test_split_claims_attaches_markers_to_their_sentence():
    claims = split_claims("A is 1 [1]. B is 2. [2][3] C? [4]")
    assert [(c.text, c.cited) for c in claims] == [("A is 1.", [1]), ("B is 2.", [2, 3]), ("C?", [4])]


def test_content_words_and_lexical_support():
    assert content_words("The chips are banned") == {"chip", "bann"}
    assert lexical_support("Chips were banned.", "In May the chips were banned by the US.") == 1.0
    assert lexical_support("Bananas grow fast.", "Chips were banned.") == 0.0


def test_check_claims_flags_a_citation_that_does_not_support_its_sentence():
    passages = ["DeepSeek pushed OpenAI to release open-weight models.", "Nvidia sells China-safe chips."]
    claims = split_claims("DeepSeek pushed OpenAI to release open models [1]. OpenAI sells bananas [2].")
    check_claims(claims, passages, threshold=0.5)
    assert claims[0].supported == [1] and claims[1].supported == []
    assert claims[1].scores[2] < 0.5


def test_check_claims_uses_embedding_similarity_when_words_differ():
    calls = []

    def similarity(sentence, others):
        calls.append(sentence)
        return [0.9 for _ in others]

    claims = split_claims("The firm rebuilt its strategy [1].")
    check_claims(claims, ["A complete change of course happened at the company."], 0.5, similarity)
    assert claims[0].supported == [1] and calls


def test_out_of_range_citations_are_never_supported():
    claims = split_claims("Claim [3].")
    check_claims(claims, ["Claim."], 0.5)
    assert claims[0].supported == [] and claims[0].scores == {}


def test_an_abbreviation_does_not_end_a_passage_sentence():
    passage = "From his view, the U.S. focus on chips is myopic. China builds fabs."
    assert [passage[a:b] for a, b in passage_sentences(passage)] == [
        "From his view, the U.S. focus on chips is myopic.", "China builds fabs."]


def test_highlight_spans_picks_the_matching_sentence():
    passage = "Intro sentence here. DeepSeek pushed OpenAI to open weights. Unrelated end."
    claims = split_claims("DeepSeek pushed OpenAI [1].")
    (start, end), = highlight_spans(claims, 1, passage)
    assert passage[start:end] == "DeepSeek pushed OpenAI to open weights."


def test_highlight_is_the_sentence_that_says_it_not_the_one_that_names_the_subject(embedder):
    """With the real MiniLM: alone it would highlight the first sentence, which merely names gpt-oss."""
    from functools import partial

    from rag.embeddings import similarity

    passage = ("OpenAI’s new models gpt-oss-120b and gpt-oss-20b don’t offer all the bells and whistles of the "
               "commercial versions, but they’re designed to be lightweight, text-only, and downloadable so "
               "developers can run them locally. The goal? To build a broader developer ecosystem less dependent "
               "on Chinese open-source technology.")
    claims = split_claims("OpenAI released gpt-oss because it aimed to build a broader developer ecosystem "
                          "less dependent on Chinese open-source technology [1].")
    (start, end), = highlight_spans(claims, 1, passage, partial(similarity, embedder))
    assert passage[start:end] == "To build a broader developer ecosystem less dependent on Chinese open-source technology."


@pytest.mark.parametrize("answer, refused", [
    (REFUSAL, True),
    ("The articles do not answer this question [1].", True),
    ("I don't know.", True),
    ("The sources do not mention the 2022 World Cup.", True),
    ("", True),
    ("OpenAI released gpt-oss because of Chinese competition [2].", False),
    ("Altman says export controls don't work [1].", False),
    # a real answer with a negation is an answer, not a refusal (both were thrown away before)
    ("Altman did not say when the models would ship, but he said they run locally [1].", False),
    ("The company provided no information about pricing [2].", False),
    ("The articles do not answer this question. The sources do not say.", True),
])
def test_is_refusal(answer, refused):
    assert bool(is_refusal(answer, REFUSAL)) is refused


@pytest.mark.parametrize("answer, expected", [
    ("Altman said the U.S. may be underestimating China [1].",
     [("Altman said the U.S. may be underestimating China.", [1])]),
    ("Dr. Smith met Mr. Jones in Calif. on Tuesday [2]. They talked [1].",
     [("Dr. Smith met Mr. Jones in Calif. on Tuesday.", [2]), ("They talked.", [1])]),
    ("Prices rose. [3] Sales fell [1].", [("Prices rose.", [3]), ("Sales fell.", [1])]),
])
def test_split_claims_keeps_abbreviations_inside_the_sentence(answer, expected):
    assert [(c.text, c.cited) for c in split_claims(answer)] == expected


@pytest.mark.parametrize("claim, passage, missing", [
    ("Out in May 2024.", "Out in 2024.", {"may"}),
    ("Chinese labs flood the market.", "Labs in China flood the market.", set()),
    ("OpenAI released gpt-oss-120b.", "OpenAI's new models gpt-oss-120b and gpt-oss-20b", set()),
    ("It costs 5 dollars.", "It costs 6 dollars.", {"5"}),
])
def test_unbacked_specifics(claim, passage, missing):
    assert unbacked_specifics(claim, passage) == missing


def test_a_claim_with_a_date_the_passage_lacks_is_not_supported():
    passage = "OpenAI released its gpt-oss open-weight models for developers to run locally."
    claims = check_claims(split_claims("OpenAI released the gpt-oss models in May [1]."), [passage], 0.5)
    assert claims[0].scores[1] >= 0.5 and claims[0].supported == []


def test_ground_claims_marked_text_and_grounded_history():
    from rag.citations import Claim, ground_claims, grounded_history, marked_text

    claims = ground_claims([Claim("A is 1.", [1], [1], checked={1: 0.9}), Claim("B is 2.", [2], [2], checked={2: 0.1}),
                            Claim("C is 3.", [3], [3]), Claim("D.")], 0.5)
    assert [c.grounded for c in claims] == [True, False, True, False]
    text = marked_text(claims)
    assert text == "A is 1 [1]. B is 2 [2] (not found in the sources). C is 3 [3]. D (not found in the sources)."
    refusal = "The articles do not answer this question."
    assert grounded_history(text, refusal) == "A is 1 [1]. C is 3 [3]."
    assert grounded_history(refusal, refusal) == ""


@pytest.mark.parametrize("answer, expected, cited", [
    # the model forgot "[1]" after a sentence copied from source 2: it cites the source that backs it
    ("Anglers must return every fish they catch.", "Anglers must return every fish they catch [2].", [[2]]),
    # a sentence with its own marker keeps it; the uncited one after it is given its source
    ("Prices rose in May [1]. Anglers must return every fish.", "Prices rose in May [1]. Anglers must return every fish [2].",
     [[1], [2]]),
    # nothing backs it well enough, or a name of it is in no source, or it is too short to tell: left as written
    ("The mayor resigned over the budget.", "The mayor resigned over the budget.", [[]]),
    ("Anglers in Oslo must return every fish.", "Anglers in Oslo must return every fish.", [[]]),
    ("Yes.", "Yes.", [[]]),
    ("Prices rose in May. [1]", "Prices rose in May. [1]", [[1]]),  # a lone marker already belongs to it
    ("五月价格上涨了很多。", "五月价格上涨了很多[3]。", [[3]]),  # no space before a Chinese full stop
])
def test_an_uncited_sentence_is_given_the_source_that_backs_it(answer, expected, cited):
    sources = ["In May prices rose sharply.", "Anglers must return every fish they catch to the water.", "五月价格上涨了很多。"]
    claims = split_claims(answer)
    assert attribute(answer, claims, sources, 0.5) == expected
    assert [c.cited for c in claims] == cited
    assert [c.cited for c in split_claims(expected)] == cited  # the text and the claims agree

"""Answerability: the two refusal rules on hand-made cases, and on the real model end to end."""
from datetime import date

import pytest
from hypothesis import given, strategies as st

from rag.answerability import confidence, missing_numbers, specific_spans

from conftest import SEED_QUESTION


@pytest.mark.parametrize("question, sources, missing", [
    ("Who won the 2018 Tour de France?", ["Bernal won the 2019 Tour de France."], ["2018"]),
    ("Who won the 2018 Tour de France?", ["Thomas won in 2018.", "Bernal won in 2019."], []),
    ("What is the premiere date of Season 11?", ["Season 11 premieres on August 22."], []),
    ("Why did OpenAI release gpt-oss?", ["Anything."], []),  # no number asked: nothing to miss
    ("Sales in 2020 and 2021?", ["In 2021 sales rose."], ["2020"]),
    ("Why did OpenAI release gpt-oss? (conversation s1c0x3f-0)", ["Anything."], []),  # a lone digit decides nothing
])
def test_missing_numbers(question, sources, missing):
    assert missing_numbers(question, sources) == missing


@pytest.mark.parametrize("text, specific", [
    ("Geraint Thomas won in 2018 [1].", ["Thomas", "2018"]),  # the first word is not judged: sentences start capitalised
    ("The company released it [2].", []),                     # [2] is a citation, not a number of the answer
    ("It was Nvidia and AMD, not Intel.", ["Nvidia", "AMD", "Intel"]),
    ("Who knows? What Altman said.", ["Altman"]),              # question words are not names
])
def test_specific_spans(text, specific):
    assert [text[a:b] for a, b in specific_spans(text)] == specific


def test_confidence_is_the_geometric_mean_over_names_and_numbers_only():
    tokens = [("It", -0.1), (" was", -2.0), (" Ger", -0.1), ("aint", -0.3), (" in", -0.1), (" 2018", -1.1)]
    assert confidence(tokens) == pytest.approx(0.6065, abs=1e-4)
    assert confidence([("It", -0.1), (" rained", -3.0), (".", -0.1)]) is None  # nothing specific to judge


@given(st.lists(st.tuples(st.sampled_from(["A", " Paris", " in", " 2020", " said", "."]),
                          st.floats(min_value=-20, max_value=0)), max_size=12))
def test_confidence_is_a_probability_or_none(tokens):
    got = confidence(tokens)
    assert got is None or 0.0 <= got <= 1.0


def test_a_year_no_source_names_is_refused_without_asking_the_model(assistant):
    answer = assistant.ask("What did Altman say about China's AI labs in 2019?")
    assert answer.refused and answer.refused_by == "numbers" and answer.citations == []
    assert answer.timings.completion_tokens == 0 and answer.answer == assistant.prompts.refusal


def test_an_answer_below_the_confidence_floor_is_withheld_not_shown(assistant):
    normal = assistant.ask(SEED_QUESTION)
    assert not normal.refused and normal.confidence is not None and 0 < normal.confidence <= 1
    strict = assistant.ask(SEED_QUESTION, min_confidence=1.0)  # no answer is that sure of its names
    assert strict.refused and strict.refused_by == "confidence" and strict.citations == []
    assert strict.withheld and strict.confidence == pytest.approx(normal.confidence, abs=0.02)
    assert strict.to_json()["refused_by"] == "confidence"


def test_a_code_no_article_names_is_refused_saying_so(assistant):
    answer = assistant.ask("Which company makes the H20 chip and was it approved for sale?")
    assert answer.refused and answer.refused_by == "missing" and answer.timings.completion_tokens == 0
    assert answer.why == "The articles found do not mention H20."
    assert answer.to_json()["reason"] == answer.why and answer.to_json()["sentences"] == []


def test_a_year_refusal_says_which_years_the_articles_cover(assistant):
    answer = assistant.ask("What did Altman say about China's AI labs in 2019?")
    assert answer.refused and "2019" in answer.why and answer.why.startswith("The articles found")


def test_every_sentence_of_a_written_answer_is_checked_against_what_it_cites(assistant):
    answer = assistant.ask(SEED_QUESTION)
    assert not answer.refused and answer.claims
    for claim in answer.claims:
        assert set(claim.checked) == set(claim.cited)
        assert all(0.0 <= p <= 1.0 for p in claim.checked.values())
        assert claim.grounded == (bool(claim.cited) and not claim.unheld
                                  and max(claim.checked.values()) >= assistant.settings.min_claim)
    assert any(claim.grounded for claim in answer.claims), "the seed answer is stated in the article"
    assert answer.signals.claim_min == min(c.best_check() for c in answer.claims if c.cited)
    assert answer.timings.check_ms > 0 and answer.timings.total_ms >= answer.timings.ttft_ms + answer.timings.check_ms
    sentences = answer.to_json()["sentences"]
    assert [s["supported"] for s in sentences] == [bool(c.grounded) for c in answer.claims]


def test_a_sentence_the_model_does_not_find_is_marked_and_kept_out_of_the_follow_up(assistant):
    strict = assistant.ask(SEED_QUESTION, min_claim=1.0, min_grounded=0.0)  # no check is that sure: every one fails
    if all(c.best_check() == 1.0 for c in strict.claims):
        pytest.fail("every sentence was checked with P(yes) = 1.0; pick a stricter case")
    marked = strict.marked
    assert "(not found in the sources)" in marked and not strict.refused
    from rag.generation import rewrite_messages

    prompt = rewrite_messages(assistant.prompts, [(SEED_QUESTION, marked)], "And then?")[0]["content"]
    unbacked = [c.text.rstrip(".") for c in strict.claims if not c.grounded]
    assert unbacked and not any(text in prompt for text in unbacked)


def test_an_answer_citing_nothing_is_shown_marked_not_judged_by_the_combiner(assistant):
    from rag.pipeline import Timings

    _, passages = assistant.retrieve("Who leads OpenAI?", assistant.settings)
    answer = assistant.finish("Who?", "Who?", "The winter in Oslo was mild and wet.", passages, Timings())
    assert not answer.refused and answer.grounded is None
    assert answer.marked == "The winter in Oslo was mild and wet (not found in the sources)."


def test_an_uncited_sentence_a_source_backs_is_given_that_source_and_judged(assistant):
    from rag.pipeline import Timings

    _, passages = assistant.retrieve("Who leads OpenAI?", assistant.settings)
    answer = assistant.finish("Who?", "Who?", "Altman leads OpenAI.", passages, Timings())
    assert answer.claims[0].cited and answer.grounded is not None  # the combiner judges it like any cited answer
    n = answer.claims[0].cited[0]
    assert answer.answer == f"Altman leads OpenAI [{n}]." and "Altman" in passages[n - 1].text


def test_a_made_up_name_beside_a_real_one_is_refused_naming_the_missing_part(assistant):
    answer = assistant.ask("What did Sam Altman's Marlow memo say about export controls?")
    assert answer.refused and answer.refused_by == "missing" and answer.timings.completion_tokens == 0
    assert answer.why == "The articles found do not mention a Marlow memo."
    assert answer.to_json()["reason"] == answer.why and answer.citations == []


def test_a_cited_sentence_is_read_with_the_other_sources_of_its_article():
    """"Who led Dunmore's transit authority in 2022?" cited "chief executive Marek Novak said", and "Dunmore"
    only its dateline writes, in another source of the same article: that is not a name the answer lacks."""
    from rag.answerability import answer_signals, cited_articles
    from rag.citations import Claim
    from rag.retrieval import Passage
    from rag.when import read_question

    def cut(doc, text):
        return Passage(f"{doc}:{len(text)}", doc, "Tram opening pushed back", f"{doc}.md", text, 0, len(text))
    lead, said, other = (cut("kelby", "DUNMORE - The tram line is late."), cut("kelby", "Chief executive Marek Novak said."),
                         cut("ostvale", "Ostvale's hospital costs more."))
    assert cited_articles([lead, said, other], [2]) == [
        "Tram opening pushed back Chief executive Marek Novak said. Tram opening pushed back DUNMORE - The tram line is late."]
    question = "Who led Dunmore's transit authority in 2022?"
    claims = [Claim("Marek Novak led it [2].", [2])]
    frame = read_question(question, date(2026, 12, 8))  # its period's year is not asked of the text
    signals, lacking = answer_signals(question, claims, [lead, said, other], None, frame)
    assert lacking == [] and signals.cited_missing == 0.0
    signals, lacking = answer_signals(question, claims, [other, said], None, frame)  # the dateline unread: missing
    assert [c.text for c in lacking] == ["Dunmore"] and signals.cited_missing > 0

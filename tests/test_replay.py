"""Replaying the refusal rules on recorded answers, the combiner, and near-miss questions (pure logic)."""
import pytest

from rag.answerability import FEATURES, Signals, grounded_probability, load_weights
from rag.evaluation.nearmiss import corpus_paragraphs, near_misses, pairs_in, paragraphs, swaps
from rag.evaluation.replay import choose_threshold, fit, refused_by, replay


def rec(answerable, claim_min=None, missing=(), refused=False, by="", kw=1.0, evidence=(True,), confidence=None):
    return {"answerable": answerable, "refused": refused, "refused_by": by, "missing": [list(m) for m in missing],
            "signals": {"claim_min": claim_min, "confidence": confidence}, "keyword_recall": kw if answerable else None,
            "cited_evidence": list(evidence) if answerable and not refused else []}


def test_refused_by_follows_the_pipelines_order():
    assert refused_by(rec(True, refused=True, by="numbers"), {}) == "numbers"  # ran in the recorded run itself
    assert refused_by(rec(False, missing=[("code", "H20")]), {"refuse_missing": "code+name"}) == "missing"
    assert refused_by(rec(False, missing=[("code", "H20")]), {"refuse_missing": "none"}) == ""
    assert refused_by(rec(False, refused=True, by="model"), {}) == "model"
    assert refused_by(rec(False, confidence=0.3), {"min_confidence": 0.56}) == "confidence"
    weights = {"coef": [4, 0, 0, 0, 0], "intercept": -2}
    assert refused_by(rec(False, claim_min=0.1), {"min_grounded": 0.5}, weights) == "grounding"
    assert refused_by(rec(True, claim_min=0.9), {"min_grounded": 0.5}, weights) == ""


def test_replay_metrics_count_refused_answers_as_missing_their_facts():
    records = [rec(True, 0.9), rec(True, 0.1, kw=0.5), rec(False, 0.1), rec(False, 0.8)]
    weights = {"coef": [4, 0, 0, 0, 0], "intercept": -2}
    got = replay(records, {"min_grounded": 0.5}, weights)
    assert got["refusal_accuracy"] == 0.5 and got["false_refusal_rate"] == 0.5
    assert got["keyword_recall"] == pytest.approx(0.5) and got["evidence_citation_precision"] == 1.0


def test_fit_learns_that_a_checked_claim_means_answerable_and_the_threshold_respects_the_bound():
    records = [rec(True, 0.8 + i / 100) for i in range(10)] + [rec(False, 0.1 + i / 100) for i in range(10)]
    weights = fit(records, {})
    assert weights["features"] == list(FEATURES) and weights["coef"][0] > 0
    t = choose_threshold([records[:5] + records[10:15], records[5:10] + records[15:]], {}, weights, max_false=0.10)
    got = replay(records, {"min_grounded": t}, weights)
    assert got["false_refusal_rate"] <= 0.10 and got["refusal_accuracy"] == 1.0


def test_the_shipped_weights_load_and_give_a_probability():
    weights = load_weights()
    assert weights["features"] == list(FEATURES) and 0 < weights["threshold"] < 1
    assert 0.0 <= grounded_probability(Signals(claim_min=0.5), weights) <= 1.0
    from rag.settings import Settings

    assert Settings().min_grounded == weights["threshold"], "refit: set min_grounded's default to the new threshold"


def test_near_misses_swap_a_year_the_corpus_does_not_pair_with_the_event():
    paras = paragraphs([("Tour", "Bernal won the 2019 Tour de France.\n\nThomas won the 2018 Tour de France."),
                        ("Tennis", "Halep won the women's singles at Wimbledon in 2019.")])
    items = [{"id": "a", "question": "Who won the 2019 Tour de France?", "answerable": True},
             {"id": "b", "question": "Who won the women's singles at Wimbledon in 2019?", "answerable": True},
             {"id": "c", "question": "Who is Sam Altman?", "answerable": True},       # nothing to swap
             {"id": "d", "question": "Who won in 1990?", "answerable": False}]       # already unanswerable
    made = near_misses(items, paras)
    assert [(m["id"], m["question"]) for m in made] == [
        ("a~nm1", "Who won the 2020 Tour de France?"),  # 2018 is in the corpus: the next year is taken
        ("b~nm1", "Who won the women's singles at Wimbledon in 2018?")]
    assert all(not m["answerable"] and not pairs_in(m["question"], paras) for m in made)


def test_swaps():
    assert swaps("Who won the 2019 Tour?")[:2] == [("Who won the 2018 Tour?", "2019 -> 2018"),
                                                  ("Who won the 2020 Tour?", "2019 -> 2020")]
    assert swaps("Who won the women's final?") == [("Who won the men's final?", "women -> men")]
    assert swaps("Who is Sam Altman?") == []


def test_corpus_paragraphs_of_the_bundled_corpus(corpus):
    paras = corpus_paragraphs(corpus)
    assert len(paras) > 5 and all(p.strip() for p in paras)


def test_invented_names_are_no_english_word_and_not_in_the_corpus():
    from rag.distinctive import zipf
    from rag.evaluation.nearmiss import invented_name

    name = invented_name("q001", set())
    assert name == invented_name("q001", set()) and name[0].isupper() and zipf(name.lower()) == 0.0
    assert invented_name("q001", {name.lower()}) != name  # one the corpus holds is never used


def test_name_variants_add_or_swap_an_invented_name_beside_a_real_one():
    from rag.evaluation.nearmiss import name_variants

    assert name_variants("What is Altman's view of the Tour de France?", "Brandow") == [
        ("What is Altman's Brandow view of the Tour de France?", "added Brandow"),
        ("What is Altman's view of the Brandow Tour de France?", "added Brandow")]
    assert name_variants("Who is Sam Altman?", "Brandow") == [("Who is Sam Brandow?", "Altman -> Brandow")]
    assert name_variants("Why did it rain?", "Brandow") == []


def test_invented_near_misses_keep_the_real_names_and_lack_only_the_invented_one():
    from rag.evaluation.nearmiss import invented_near_misses

    paras = paragraphs([("OpenAI", "Sam Altman leads OpenAI. OpenAI's models are open.")])
    items = [{"id": "a", "question": "Who is Sam Altman?", "answerable": True},
             {"id": "b", "question": "What did Huawei say?", "answerable": True},  # no real name in the corpus
             {"id": "c", "question": "What are OpenAI's models?", "answerable": True}]
    made = invented_near_misses(items, paras)
    assert [m["id"] for m in made] == ["a~nv1", "c~nv1"] and not any(m["answerable"] for m in made)
    from rag.grounding import constraints, missing

    for m in made:
        assert [c.text for c in missing(constraints(m["question"]), paras)] == [m["invented"]]


def test_the_answer_side_rule_is_judged_by_evidence():
    from rag.evaluation.replay import specifics_by_evidence

    records = [{"answerable": True, "citations": [{"n": 1}, {"n": 2}], "cited_evidence": [True, False],
                "claims": [{"cited": [1], "unheld": []}, {"cited": [2], "unheld": ["May"]}]},
               {"answerable": False, "claims": [{"cited": [1], "unheld": ["Brandow"]}, {"cited": [1], "unheld": []},
                                                {"cited": [], "unheld": []}]}]
    got = specifics_by_evidence(records)
    assert (got["marked_with_evidence"], got["marked"], got["unmarked_with_evidence"]) == (0.0, 1, 1.0)
    assert (got["unanswerable_sentences_marked"], got["unanswerable_sentences"]) == (0.5, 2)


def test_rescoring_derives_the_grounding_fields_again_from_the_corpus(tmp_path):
    from rag.evaluation.rescore import passage_texts, rescore_all
    from rag.settings import Settings

    (tmp_path / "a.md").write_text("---\ntitle: Chips\n---\nAltman said export controls do not work.\n", encoding="utf-8")
    record = {"question": "What did Sam Altman's Marlow memo say?", "answerable": False, "passages": ["a.md:0-41"],
              "claims": [{"text": "The Marlow memo said controls fail in May.", "cited": [1]}],
              "signals": {"claim_min": 0.9}, "missing": []}
    from rag.evaluation.rescore import load_corpus

    docs, _ = load_corpus(tmp_path, Settings())
    assert passage_texts(record, docs) == ["Chips Altman said export controls do not work."]
    [got] = rescore_all([record], tmp_path, Settings())
    assert got["missing"] == [["name", "Marlow"]] and got["claims"][0]["unheld"] == ["May"]  # Marlow: the question's
    assert got["signals"] == {"claim_min": 0.9, "cited_missing": 0.3333, "unheld_share": 1.0}


def test_an_answer_citing_nothing_is_not_judged_by_the_combiner_as_in_the_pipeline():
    weights = {"coef": [4, 0, 0, 0, 0], "intercept": -2}
    uncited = {**rec(True, claim_min=None), "claims": [{"text": "It rained.", "cited": []}]}
    assert refused_by(uncited, {"min_grounded": 0.5}, weights) == ""
    assert refused_by({**uncited, "claims": [{"text": "It rained.", "cited": [1]}]}, {"min_grounded": 0.5}, weights) == "grounding"


def test_a_signal_fitted_against_its_meaning_is_left_out():
    # cited_missing (a doubt) rises with the answerable ones here by construction: it must not earn a positive weight
    records = [{**rec(True, 0.8 + i / 100), "signals": {"claim_min": 0.8 + i / 100, "cited_missing": 0.5}}
               for i in range(10)] + [{**rec(False, 0.1 + i / 100), "signals": {"claim_min": 0.1 + i / 100}}
                                      for i in range(10)]
    weights = fit(records, {})
    assert weights["dropped"] == ["cited_missing"] and weights["coef"][FEATURES.index("cited_missing")] == 0.0
    assert weights["coef"][0] > 0


def test_the_threshold_may_be_bound_to_cost_no_keyword_recall():
    # one answerable question the combiner would refuse at any threshold above 0.12 (its recall 1.0)
    records = [rec(True, 0.9), rec(True, 0.12), rec(False, 0.1), rec(False, 0.15)]
    weights = {"coef": [4, 0, 0, 0, 0], "intercept": -2}
    free = choose_threshold([records], {}, weights, max_false=0.5)
    bound = choose_threshold([records], {}, weights, max_false=0.5, max_recall_loss=0.0)
    assert replay(records, {"min_grounded": free}, weights)["keyword_recall"] < 1.0
    assert replay(records, {"min_grounded": bound}, weights)["keyword_recall"] == 1.0 and bound < free


def test_refusals_of_made_up_names_are_judged_by_the_invented_part():
    from rag.evaluation.replay import refused_naming

    items = [{"id": "a", "invented": "Marlow"}, {"id": "b", "invented": "H25"}, {"id": "c", "invented": "Rowan"}]
    records = [{"id": "a", "refused": True, "reason": "The articles found do not mention a Marlow memo."},
               {"id": "b", "refused": True, "reason": "It asks about a year or number."},
               {"id": "c", "refused": False, "reason": ""}]
    got = refused_naming(records, items)
    assert got["questions"] == 3 and got["refused"] == 2 / 3 and got["refused_naming_it"] == 1 / 3

"""Retrieval-only evaluation: pure scoring and folds, then the real retrieval path with the tokenizer alone."""
import json

import pytest

from rag.evaluation.retrieval import (RetrievalRecord, retrieval_assistant, run_retrieval, score_retrieval, split_folds,
                                      summarize_retrieval)
from rag.evaluation.testset import SEED_QUESTION


def item(id_, answerable=True, evidence=("Paris",), keywords=(("Paris",),)):
    return {"id": id_, "question": "?", "answerable": answerable, "evidence": list(evidence),
            "keywords": [list(k) for k in keywords]}


def test_score_retrieval_ranks_the_sources_and_the_passages_apart():
    got = score_retrieval(item("q"), ["Lyon.", "Paris."], ["Paris."], 3.0)
    assert got == RetrievalRecord("q", rank=1, ranked_rank=2, keyword_coverage=1.0, retrieve_ms=3.0)
    assert score_retrieval(item("q"), ["Paris."], ["Lyon."], 1.0).rank is None
    assert score_retrieval(item("u", answerable=False), ["Paris."], ["Paris."], 1.0) is None


def test_summary_counts_a_miss_and_names_it():
    records = [RetrievalRecord("a", 1, 1, 1.0, 2.0), RetrievalRecord("b", None, 3, 0.0, 4.0),
               RetrievalRecord("c", 2, 2, 0.5, 6.0)]
    got = summarize_retrieval(records)
    assert got["hit_at_k"] == pytest.approx(2 / 3, abs=1e-4) and got["mrr"] == pytest.approx(0.5)
    assert got["passage_hit_at_k"] == 1.0 and got["misses"] == ["b"] and got["questions"] == 3


def test_folds_are_balanced_disjoint_complete_and_fixed_by_the_ids():
    items = [item(f"q{n:03d}") for n in range(57)]
    folds = split_folds(items)
    assert sorted(len(f) for f in folds) == [28, 29]
    assert sorted(i["id"] for f in folds for i in f) == [i["id"] for i in items]
    assert split_folds(list(reversed(items)))[0] == list(reversed(folds[0]))  # order of the file does not matter
    assert folds[0] != items[:28]  # shuffled, not the first half


@pytest.mark.slow  # the embedder indexes the corpus
def test_retrieval_only_run_finds_the_seed_answer_without_the_weights(settings, corpus, tmp_path):
    testset = tmp_path / "t.jsonl"
    testset.write_text(json.dumps({"id": "seed", "question": SEED_QUESTION, "answer": "x", "answerable": True,
                                   "evidence": ["less dependent on Chinese open-source technology"],
                                   "keywords": [["Chinese"]]}) + "\n")
    assistant = retrieval_assistant(settings)
    assert assistant.generator.count("Why did OpenAI release gpt-oss?") > 5 and not assistant.settings.warm_start
    assistant.ingest()
    summary, records = run_retrieval(assistant, [json.loads(testset.read_text())])
    assert summary["hit_at_k"] == 1.0 and records[0].rank >= 1 and summary["keyword_coverage"] == 1.0


@pytest.mark.slow  # `rag eval` in a subprocess, with the embedder
def test_rag_eval_retrieval_only_prints_both_folds_and_writes_json(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    out = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "rag", "eval", "--retrieval-only", "--limit", "8", "--json", str(out),
                           "--compare", "candidates=5,20"], capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| candidates=")]
    assert len(rows) == 2 and "hit@k all / fold 0 / fold 1" in done.stdout
    results = json.loads(out.read_text())
    assert [r["settings"] for r in results] == [{"candidates": "5"}, {"candidates": "20"}]
    assert results[1]["all"]["questions"] == results[1]["fold0"]["questions"] + results[1]["fold1"]["questions"] > 0
    assert 0.0 <= results[1]["all"]["hit_at_k"] <= 1.0


@pytest.mark.slow  # the embedder indexes the corpus
def test_follow_ups_searched_with_their_conversation_reach_more_evidence_than_alone(settings, corpus):
    """tests/followups.jsonl (its labels are the test set's) with the default rewrite=context, no model call,
    against the same follow-ups searched without their conversation; a model rewrite is refused here, by name."""
    from conftest import ROOT
    from rag.errors import RagError
    from rag.evaluation.testset import load_testset

    follow_ups = load_testset(ROOT / "tests" / "followups.jsonl")
    assistant = retrieval_assistant(settings)
    assistant.ingest()
    with_context, _ = run_retrieval(assistant, follow_ups)
    alone, _ = run_retrieval(assistant, [{**item, "history": []} for item in follow_ups])
    assert with_context["questions"] == alone["questions"] == 21
    assert with_context["hit_at_k"] >= 0.85 and with_context["hit_at_k"] > alone["hit_at_k"], (with_context, alone)
    with pytest.raises(RagError, match="rewrite=auto need the model"):
        run_retrieval(assistant, follow_ups, {"rewrite": "auto"})

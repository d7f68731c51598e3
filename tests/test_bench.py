"""The benchmark: one real, tiny run of ``python -m rag bench`` checks the JSON's shape and sanity (not speed)."""
from __future__ import annotations

import json

import pytest

from rag.bench.report import render_table
from rag.bench.retrieval_stage import synthetic_chunks, time_modes
from rag.bench.stages import RGB
from rag.bench.run import bench_combos
from rag.cli import main
from rag.errors import RagError
from rag.text import words


def test_synthetic_chunks_are_deterministic_unit_vectors():
    a = synthetic_chunks(10, 5, ["alpha", "beta", "gamma"])
    b = synthetic_chunks(10, 5, ["alpha", "beta", "gamma"])
    assert a[0] == b[0] and a[1] == b[1] and (a[3] == b[3]).all()
    assert len(set(a[0])) == 5 and all(m["start"] == 0 and m["end"] == len(t) for t, m in zip(a[1], a[2]))
    assert abs(float((a[3] ** 2).sum(axis=1).max()) - 1.0) < 1e-5


def test_compare_specs_are_crossed_and_checked_like_eval():
    assert bench_combos(["n_threads=2,1", "context_mode=passages,sentences"]) == [
        {"n_threads": "2", "context_mode": "passages"}, {"n_threads": "2", "context_mode": "sentences"},
        {"n_threads": "1", "context_mode": "passages"}, {"n_threads": "1", "context_mode": "sentences"}]
    assert bench_combos(["top_k=1,2", "retrieval=bm25"]) == [{"top_k": "1", "retrieval": "bm25"},
                                                             {"top_k": "2", "retrieval": "bm25"}]
    assert bench_combos(None) is None
    for bad in (["no_such=1"], ["top_k=0"], ["top_k="], ["top_k=1", "top_k=2"]):
        with pytest.raises(RagError):
            bench_combos(bad)


@pytest.fixture(scope="module")
def bench_result(tmp_path_factory, model_path):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    code = main(["bench", "--quick", "--limit", "2", "--pairs", "1", "--conversations", "1", "--sizes", "150,300", "--queries", "3",
                 "--docs", "20", "--max-tokens", "24", "--context-mode", "sentences", "--model", str(model_path),
                 "--json", str(out)])
    return code, json.loads(out.read_text())


def test_bench_writes_every_stage(bench_result):
    code, result = bench_result
    assert code == 0, {name: stage.get("error") for name, stage in result["stages"].items()}
    assert set(result["stages"]) == {"generation", "startup", "ingest", "retrieval"}
    assert result["machine"]["cpus"] >= 1 and result["machine"]["load"]
    assert all(stage["peak_rss_mb"] > 50 and stage["load_start"] for stage in result["stages"].values())


def test_generation_overhead_and_questions_are_sane(bench_result):
    gen = bench_result[1]["stages"]["generation"]
    overhead = gen["generation"]
    for arm in ("bare", "pipeline"):
        assert overhead[arm]["ttft_ms_p50"] > 0 and overhead[arm]["tokens_per_s_p50"] > 0
        assert len(overhead[arm]["runs"]) == 1
    assert 0.2 < overhead["ttft_ratio"] < 5 and 0.2 < overhead["tokens_per_s_ratio"] < 5
    assert overhead["prefix_reuse"]["ttft_ms_cache_reset"] > 0
    questions = gen["questions"]
    assert questions["n"] == 2 and len(questions["rows"]) == 2
    assert questions["cold_ttft_ms"] is None or questions["cold_ttft_ms"] > 0
    assert all(r["prompt_tokens"] > 0 and r["total_ms"] >= (r["ttft_ms"] or 0) for r in questions["rows"] if not r["refused"])
    assert gen["settings"]["context_mode"] == "sentences" and gen["assistant_init_s"] > 0
    followups = gen["followups"]  # "What does he think about export controls?" after "Who is Sam Altman?"
    searched = words(followups["rows"][0]["standalone"])  # searched with what "he" points back to (rewrite=context)
    assert followups["n"] == 1 and followups["rewritten"] == 1 and {"altman", "export"} <= set(searched), searched
    assert followups["first_ttft_ms_p50"] > 0 and followups["follow_up_ttft_ms_p50"] > 0
    assert followups["gap_ms"] == pytest.approx(followups["follow_up_ttft_ms_p50"] - followups["first_ttft_ms_p50"], abs=0.2)


def test_ingest_retrieval_and_startup_are_sane(bench_result):
    stages = bench_result[1]["stages"]
    ingest = stages["ingest"]
    if RGB.is_dir():
        assert ingest["documents"] == 20
    assert ingest["chunks"] >= ingest["documents"] > 0 and ingest["embedding_texts_per_s"] > 0
    assert 0 < ingest["embedding_share"] <= 1
    sizes = stages["retrieval"]["sizes"]
    assert [row["chunks"] for row in sizes] == [150, 300]
    for row in sizes:
        for mode in ("dense", "bm25", "hybrid"):
            assert 0 < row[mode]["p50_ms"] <= row[mode]["p95_ms"] and row[mode]["first_ms"] > 0
        assert row["settle_s"] >= 0
    startup = stages["startup"]
    assert "error" not in startup, startup.get("error")
    assert 0 < startup["app_ready_s"] < startup["ready_to_first_answer_s"]
    assert "Generation" in render_table(bench_result[1]) and "chunks:" in render_table(bench_result[1])
    assert "TTFT p50 first question / follow-up (ms)" in render_table(bench_result[1])


def test_modes_are_timed_on_a_settled_index_each_question_in_every_mode_in_turn():
    """The first search of each mode comes before the wait for BM25's rebuild; the timed ones after it, interleaved."""
    calls = []

    class Recorder:
        def search(self, question, top_k, candidates, mode):
            calls.append((question, mode))

        def settle(self):
            calls.append("settle")

    class Defaults:
        top_k, candidates = 4, 20

    got = time_modes(Recorder(), ["q1", "q2"], Defaults())
    assert calls == [("q1", "dense"), ("q1", "bm25"), ("q1", "hybrid"), "settle",
                     ("q1", "dense"), ("q1", "bm25"), ("q1", "hybrid"), ("q2", "dense"), ("q2", "bm25"), ("q2", "hybrid")]
    assert set(got) == {"dense", "bm25", "hybrid", "settle_s"}
    assert all(set(got[m]) == {"p50_ms", "p95_ms", "first_ms"} for m in ("dense", "bm25", "hybrid"))

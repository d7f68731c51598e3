"""Compare the embedders on retrieval alone: no answer is generated, so the model's weights are never read.

    scripts/offline.sh .venv/bin/python scripts/compare_embedders.py [--embedders minilm,e5-small,mpnet]
        [--sizes 1000,10000] [--queries 30] [--grid candidates=10,20,40] [--json OUT] [--markdown OUT]

Each embedder runs in a fresh process (its peak memory is its own), one after the other in one run:
load time; ingest of the bundled corpus and of the RGB slice (embedding texts/s); hit@k, MRR and
keyword coverage of the sources the model would read (rag.evaluation.retrieval) on the bundled test set,
RGB dev, and RGB dev's two folds (split by a hash of the question id); hybrid and dense query latency
p50/p95 at growing sizes (the RGB passages topped up with synthetic chunks and random unit vectors, as
``rag bench`` does); peak memory. ``--grid`` adds per-question settings, each combination scored on both
folds, so a knob chosen on one fold can be reported on the other.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.bench.measure import loadavg, peak_rss_mb  # noqa: E402
from rag.bench.retrieval_stage import grow_index, time_modes  # noqa: E402
from rag.bench.stages import RGB  # noqa: E402
from rag.evaluation.retrieval import retrieval_assistant, run_retrieval, split_folds  # noqa: E402
from rag.evaluation.testset import load_testset  # noqa: E402
from rag.settings import Settings, expand_grid, parse_grid  # noqa: E402


def timed_ingest(assistant) -> dict:
    """Ingest the corpus, timing the embedder's own calls."""
    embedder = assistant.index.embedder
    calls = {"texts": 0, "seconds": 0.0}
    original = type(embedder).__call__

    def timed(self, input):
        started = time.perf_counter()
        out = original(self, input)
        calls["texts"] += len(input)
        calls["seconds"] += time.perf_counter() - started
        return out

    type(embedder).__call__ = timed
    try:
        report = assistant.ingest()
    finally:
        type(embedder).__call__ = original
    return {"chunks": report.chunks_written, "seconds": round(report.seconds, 2),
            "embedding_texts_per_s": round(calls["texts"] / max(calls["seconds"], 1e-9), 1), "load": loadavg()}


def latency(assistant, questions: list[str], sizes: list[int], queries: int) -> list[dict]:
    """Dense, BM25 and hybrid search p50/p95 at each size (the top-k and candidates of the defaults), timed as
    `rag bench` times them (rag/bench/retrieval_stage.py time_modes: on a settled index, modes in turn)."""
    from rag.text import WORD

    index, retriever, s = assistant.index, assistant.retriever, assistant.settings
    questions = (questions * (queries // max(len(questions), 1) + 1))[:queries]
    vocab = sorted({w for t in index.all_chunks()[1] for w in WORD.findall(t)})
    rows = []
    for size in sizes:
        grow_index(index, size, vocab)
        rows.append({"chunks": index.count(), "load": loadavg(), **time_modes(retriever, questions, s)})
    return rows


def one(key: str, params: dict) -> dict:
    """Everything measured for one embedder, in this process."""
    from rag.embeddings import make_embedder

    home = Path(params["home"])
    started = time.perf_counter()
    embedder = make_embedder(key, home / "models")
    out = {"embedder": key, "load_s": round(time.perf_counter() - started, 2), "rss_mb_after_load": peak_rss_mb()}
    grid = expand_grid(parse_grid(params.get("grid") or [], Settings.model_fields))
    sets = {"bundled": (ROOT / "tests" / "testset.jsonl", ROOT / "corpus"),
            "rgb": (Path(params["rgb"]) / "dev.jsonl", Path(params["rgb"]) / "corpus")}
    for name, (testset, corpus) in sets.items():
        settings = Settings.load(home=home / name, corpus=corpus, embedder=key)
        assistant = retrieval_assistant(settings)
        assistant.index.embedder = embedder  # loaded once for both sets
        out[f"ingest_{name}"] = timed_ingest(assistant)
        items = load_testset(testset)
        named = {"all": items, **{f"fold{k}": part for k, part in enumerate(split_folds(items))}}
        out[name] = {}
        for combo in grid:
            label = ",".join(f"{k}={v}" for k, v in combo.items()) or "defaults"
            out[name][label] = {part: run_retrieval(assistant, chosen, combo)[0] for part, chosen in named.items()}
        if name == "rgb" and params["sizes"]:
            out["latency"] = latency(assistant, [i["question"] for i in items], params["sizes"], params["queries"])
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def markdown(results: list[dict]) -> str:
    """The comparison table: one row per embedder."""
    sizes = [row["chunks"] for row in results[0].get("latency", [])]
    head = ["embedder", "bundled hit@k / MRR", "RGB dev hit@k / MRR", "RGB fold 0", "RGB fold 1", "keyword coverage (RGB)",
            "ingest texts/s (RGB)", *[f"hybrid p50/p95 ms at {n:,}" for n in sizes], "dense p50 ms (last)", "load s", "peak MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        b, g = (next(iter(r[name].values())) for name in ("bundled", "rgb"))  # the first combination of --grid
        hm = lambda m: f"{m['hit_at_k']:.3f} / {m['mrr']:.3f}"  # noqa: E731
        lat = r.get("latency", [])
        cells = [r["embedder"], hm(b["all"]), hm(g["all"]), hm(g["fold0"]), hm(g["fold1"]), f"{g['all']['keyword_coverage']:.3f}",
                 f"{r['ingest_rgb']['embedding_texts_per_s']:.0f}",
                 *[f"{x['hybrid']['p50_ms']} / {x['hybrid']['p95_ms']}" for x in lat],
                 f"{lat[-1]['dense']['p50_ms']}" if lat else "", f"{r['load_s']}", f"{r['peak_rss_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default="minilm,e5-small")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--grid", action="append", default=[], metavar="SETTING=V1,V2")
    parser.add_argument("--rgb", default=str(RGB))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, json.loads(args.params))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = []
    with tempfile.TemporaryDirectory(prefix="rag-embedders-") as tmp:
        for key in args.embedders.split(","):
            params = {"home": str(Path(tmp) / key), "rgb": args.rgb, "sizes": sizes, "queries": args.queries,
                      "grid": args.grid}
            done = subprocess.run([sys.executable, __file__, "--one", key, "--params", json.dumps(params)],
                                  capture_output=True, text=True)
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{key}: done, load {loadavg()}", file=sys.stderr, flush=True)
    if args.json:  # first: the table below must not lose the run
        args.json.write_text(json.dumps(results, indent=1))
    table = markdown(results)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

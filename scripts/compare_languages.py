#!/usr/bin/env python3
"""Retrieval across languages, per embedder and Chinese word segmenter, as docs/languages.md reports it.

For each embedder (minilm, e5-small) and each way of cutting Chinese into words (rjieba, the default; character
bigrams; none: a run of Chinese characters is one word, as before this version), the Chinese dev slice
(tests/data/zh) and the German/French/Spanish set (tests/data/multilingual) are indexed and scored without the
model (``rag eval --retrieval-only``'s rules: hit@k of the test set's evidence quotes in what the model reads),
per language direction (the question's language -> the articles'). Judged by the sets' evidence, never by the code.

    python scripts/compare_languages.py [--embedders minilm,e5-small] [--segmenters rjieba,bigrams,none]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag.text  # noqa: E402
from rag.evaluation.retrieval import retrieval_assistant, run_retrieval  # noqa: E402
from rag.evaluation.testset import load_testset  # noqa: E402
from rag.settings import Settings  # noqa: E402

SETS = {"zh": (ROOT / "tests/data/zh/dev.jsonl", ROOT / "tests/data/zh/corpus"),
        "zh-seed": (ROOT / "tests/data/zh/seed.jsonl", ROOT / "corpus"),
        "de-fr-es": (ROOT / "tests/data/multilingual/questions.jsonl", ROOT / "tests/data/multilingual/corpus")}
ARTICLES = {"zh": "zh", "zh-seed": "en", "de-fr-es": None}  # the articles' language (None: the item's id says it)


def bigrams(run: str) -> list[str]:
    """``bigrams('中国城镇') -> ['中国', '国城', '城镇']`` (a lone character stays one word)."""
    return [run[i:i + 2] for i in range(len(run) - 1)] or [run]


SEGMENTERS = {"rjieba": rag.text.han_words, "bigrams": bigrams, "none": lambda run: [run]}


def direction(item: dict, set_name: str) -> str:
    """``'en->zh'``: the question's language, then the articles'."""
    articles = ARTICLES[set_name] or item["id"].split("-")[0][:2]
    return f"{item.get('lang', 'en')}->{articles}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedders", default="minilm,e5-small")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--segmenters", default="rjieba,bigrams,none")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, results = [], []
    for embedder in args.embedders.split(","):
        for segmenter in args.segmenters.split(","):
            rag.text.han_words = SEGMENTERS[segmenter]  # every word rule (BM25, sentences, checks) goes through it
            for set_name, (testset, corpus) in ((name, SETS[name]) for name in args.sets.split(",")):
                with tempfile.TemporaryDirectory() as home:
                    settings = Settings.load(home=Path(home), corpus=corpus, embedder=embedder)
                    assistant = retrieval_assistant(settings)
                    started = time.perf_counter()
                    assistant.ingest()
                    ingest_s = time.perf_counter() - started
                    items = load_testset(testset)
                    for name in sorted({direction(i, set_name) for i in items}):
                        chosen = [i for i in items if direction(i, set_name) == name]
                        summary, _ = run_retrieval(assistant, chosen)
                        results.append({"embedder": embedder, "segmenter": segmenter, "set": set_name, "direction": name,
                                        "ingest_s": round(ingest_s, 1), **summary})
                        rows.append(f"| {embedder} | {segmenter} | {name} | {summary['hit_at_k']:.3f} | "
                                    f"{summary['mrr']:.3f} | {summary['questions']} | {ingest_s:.1f} |")
                        print(rows[-1], flush=True)
    print("| embedder | Chinese words | direction | hit@k | MRR | answerable questions | ingest s |\n|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

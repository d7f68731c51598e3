#!/usr/bin/env python3
"""Fit the refusal combiner on one set of recorded answers, report it on the other, both ways; write the weights.

Record the answers first with the after-the-answer rules off, one run per set (near misses in their own run):

    python -m rag eval --out eval-out/raw-bundled (env RAG_MIN_CONFIDENCE=0 RAG_MIN_GROUNDED=0 RAG_REFUSE_MISSING=none)
    python -m rag eval --near-misses --out eval-out/raw-bundled-nm (env RAG_MIN_CONFIDENCE=0 RAG_MIN_GROUNDED=0 RAG_REFUSE_MISSING=none)
    (the same with --testset ../shared/bench/rgb/dev.jsonl --corpus ../shared/bench/rgb/corpus)

then
    python scripts/fit_refusal.py --set bundled=eval-out/raw-bundled/results.json,eval-out/raw-bundled-nm/results.json \
        --set rgb=eval-out/raw-rgb/results.json,eval-out/raw-rgb-nm/results.json --ship pooled

prints the before/after table (Markdown) and writes rag/refusal_weights.json with the shipped fit and threshold.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluation.replay import checker_by_evidence, choose_threshold, fit, replay  # noqa: E402

BEFORE = {"refuse_missing": "none", "min_confidence": 0.56}  # the previous release's defaults
RULES = {"refuse_missing": "code+name", "min_confidence": 0.56}  # the rules the combiner runs after


def load(specs: str) -> list[dict]:
    """Every record of the comma-separated results.json files."""
    return [r for path in specs.split(",") for r in json.loads(Path(path).read_text())["records"]]


def row(label: str, got: dict) -> str:
    cells = [got[k] for k in ("refusal_accuracy", "false_refusal_rate", "keyword_recall", "evidence_citation_precision")]
    return f"| {label} | " + " | ".join("—" if v is None else f"{v:.3f}" for v in cells) + f" | {got['questions']} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="NAME=results.json[,more.json]")
    parser.add_argument("--ship", default="pooled", help="Which fit to write: a set's name, or 'pooled' (all sets).")
    parser.add_argument("--max-false", type=float, default=0.10, help="False-refusal bound for the threshold.")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "rag" / "refusal_weights.json")
    args = parser.parse_args()
    sets = {name: load(paths) for name, _, paths in (spec.partition("=") for spec in args.set)}
    print("| rules (fitted on → scored on) | refusal of unanswerable | false refusals | keyword recall | "
          "evidence citation precision | questions |\n|---|---|---|---|---|---|")
    fits = {}
    for name, records in sets.items():
        weights = fit(records, RULES)
        weights["threshold"] = choose_threshold([records], RULES, weights, args.max_false)
        fits[name] = weights
    pooled = [r for records in sets.values() for r in records]
    fits["pooled"] = fit(pooled, RULES)
    fits["pooled"]["threshold"] = choose_threshold(list(sets.values()), RULES, fits["pooled"], args.max_false)
    for name, records in sets.items():
        print(row(f"previous defaults → {name}", replay(records, BEFORE)))
        print(row(f"rules before asking, no combiner → {name}", replay(records, RULES)))
        for source, weights in fits.items():
            rules = {**RULES, "min_grounded": weights["threshold"]}
            kind = "in-sample" if source in (name, "pooled") else "held out"
            print(row(f"combiner fitted on {source} ({kind}) → {name}", replay(records, rules, weights)))
    print("\nSentence checks judged by the test sets' evidence (share of (sentence, cited source) pairs whose source "
          "holds an evidence quote):")
    for name, records in sets.items():
        for t in (0.3, 0.5, 0.7):
            print(f"- {name}, min_claim {t}: {json.dumps(checker_by_evidence(records, t))}")
    shipped = {**fits[args.ship], "fitted_on": args.ship, "max_false": args.max_false}
    args.out.write_text(json.dumps(shipped, indent=2) + "\n")
    print(f"\nwrote {args.out}: {json.dumps(shipped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

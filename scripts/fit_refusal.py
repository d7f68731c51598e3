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

A file given as ``results.json@CORPUS`` is rescored first with today's grounding rules (rag/evaluation/rescore.py:
the question's missing specifics, cited_missing, each sentence's unheld specifics), so a rule change is measured on
answers recorded before it. ``--before NAME=results.json`` adds the previous release's own figures on its own
records (its rules and weights, PREVIOUS), for the before/after table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluation.replay import checker_by_evidence, choose_threshold, fit, replay, specifics_by_evidence  # noqa: E402

BEFORE = {"refuse_missing": "none", "min_confidence": 0.56}  # the release before the rule on missing names
RULES = {"refuse_missing": "code+name", "min_confidence": 0.56}  # the rules the combiner runs after
# The previous release's shipped combiner (five features; its threshold was min_grounded's default), to replay it on
# answers recorded by that release.
PREVIOUS = {"features": ["claim_min", "confidence", "cited_missing", "top_similarity", "support_min"],
            "coef": [1.6683, 0.5504, -2.4131, 0.6582, 0.7868], "intercept": -1.9694, "threshold": 0.2793}


def load(specs: str) -> list[dict]:
    """Every record of the comma-separated results.json files; a file given as ``path@corpus`` is rescored."""
    records = []
    for spec in specs.split(","):
        path, _, corpus = spec.partition("@")
        got = json.loads(Path(path).read_text())["records"]
        if corpus:
            from rag.evaluation.rescore import rescore_all
            from rag.settings import Settings

            got = rescore_all(got, Path(corpus), Settings())
        records += got
    return records


def row(label: str, got: dict) -> str:
    cells = [got[k] for k in ("refusal_accuracy", "false_refusal_rate", "keyword_recall", "evidence_citation_precision")]
    return f"| {label} | " + " | ".join("—" if v is None else f"{v:.3f}" for v in cells) + f" | {got['questions']} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="NAME=results.json[@corpus][,more.json]")
    parser.add_argument("--before", action="append", default=[], metavar="NAME=results.json[,more.json]",
                        help="Answers recorded by the previous release, replayed with its rules and weights.")
    parser.add_argument("--ship", default="pooled", help="Which fit to write: a set's name, or 'pooled' (all sets).")
    parser.add_argument("--max-false", type=float, default=0.10, help="False-refusal bound for the threshold.")
    parser.add_argument("--max-recall-loss", type=float, default=0.0,
                        help="How much keyword recall the combiner may cost in each set (default 0: none).")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "rag" / "refusal_weights.json")
    args = parser.parse_args()
    sets = {name: load(paths) for name, _, paths in (spec.partition("=") for spec in args.set)}
    print("| rules (fitted on → scored on) | refusal of unanswerable | false refusals | keyword recall | "
          "evidence citation precision | questions |\n|---|---|---|---|---|---|")
    fits = {}
    for name, records in sets.items():
        weights = fit(records, RULES)
        weights["threshold"] = choose_threshold([records], RULES, weights, args.max_false, args.max_recall_loss)
        fits[name] = weights
    pooled = [r for records in sets.values() for r in records]
    fits["pooled"] = fit(pooled, RULES)
    fits["pooled"]["threshold"] = choose_threshold(list(sets.values()), RULES, fits["pooled"], args.max_false,
                                                   args.max_recall_loss)
    for name, _, paths in (spec.partition("=") for spec in args.before):
        print(row(f"previous release, its own records → {name}",
                  replay(load(paths), {**RULES, "min_grounded": PREVIOUS["threshold"]}, PREVIOUS)))
    for name, records in sets.items():
        print(row(f"release before the missing-name rule → {name}", replay(records, BEFORE)))
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
    print("\nThe answer-side rule (sentences naming what their cited sources lack), judged by the test sets' evidence:")
    for name, records in sets.items():
        print(f"- {name}: {json.dumps(specifics_by_evidence(records))}")
    shipped = {**fits[args.ship], "fitted_on": args.ship, "max_false": args.max_false,
               "max_recall_loss": args.max_recall_loss}
    args.out.write_text(json.dumps(shipped, indent=2) + "\n")
    print(f"\nwrote {args.out}: {json.dumps(shipped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

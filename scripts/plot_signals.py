#!/usr/bin/env python3
"""The refusal trade-off of each signal alone and of the combiner, on recorded answers (docs/risk-signals.png).

For every threshold on one signal (the other after-the-answer rules off, the rules before asking on), the share
of unanswerable questions refused against the share of answerable ones refused; one panel per test set.

    python scripts/plot_signals.py --set bundled=eval-out/raw-bundled/results.json \
        --set rgb=eval-out/raw-rgb/results.json,eval-out/raw-rgb-nm/results.json --out docs/risk-signals.png
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.answerability import FEATURES, NEUTRAL, Signals, grounded_probability, load_weights  # noqa: E402
from rag.evaluation.replay import refused_by  # noqa: E402

RULES = {"refuse_missing": "code+name"}
LOWER_IS_WORSE = {"cited_missing": False}  # a higher share of missing specifics means less grounded


def score(record: dict, name: str, weights: dict) -> float:
    """The record's value of one signal (or the combiner's probability), oriented so that low means refuse."""
    signals = Signals(**(record.get("signals") or {}))
    if name == "combined":
        return grounded_probability(signals, weights)
    value = getattr(signals, name)
    value = NEUTRAL[name] if value is None else value
    return -value if not LOWER_IS_WORSE.get(name, True) else value


def curve(records: list[dict], name: str, weights: dict) -> tuple[list[float], list[float]]:
    """(false refusal rates, refusal accuracies) over every threshold on the signal."""
    rows = [(r, bool(refused_by(r, RULES)), score(r, name, weights)) for r in records if not r.get("error")]
    cuts = sorted({s for _, _, s in rows}) + [float("inf")]
    xs, ys = [], []
    for t in [float("-inf"), *cuts]:
        refused = [(r, before or s < t) for r, before, s in rows]
        answerable = [x for r, x in refused if r["answerable"]]
        unanswerable = [x for r, x in refused if not r["answerable"]]
        xs.append(sum(answerable) / len(answerable))
        ys.append(sum(unanswerable) / len(unanswerable))
    return xs, ys


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="NAME=results.json[,more.json]")
    parser.add_argument("--out", type=Path, default=Path("docs/risk-signals.png"))
    args = parser.parse_args()
    weights = load_weights()
    sets = {name: [r for p in paths.split(",") for r in json.loads(Path(p).read_text())["records"]]
            for name, _, paths in (spec.partition("=") for spec in args.set)}
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 5), squeeze=False)
    for ax, (name, records) in zip(axes[0], sets.items()):
        for signal in [*FEATURES, "combined"]:
            xs, ys = curve(records, signal, weights)
            ax.step(xs, ys, where="post", label=signal, linewidth=2.5 if signal == "combined" else 1.2)
        ax.axvline(0.10, color="grey", linestyle=":", linewidth=1)
        ax.set(title=f"{name}: each signal alone, and combined", xlabel="answerable questions refused",
               ylabel="unanswerable questions refused", xlim=(0, 0.5), ylim=(0, 1.02))
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measure date-aware retrieval tie-breaks against today's retrieval, on RGB dev and the bundled test set.

Retrieval only (no model): each answerable question with evidence is searched with top_k passages,
and hit@k is the share whose passages hold an evidence quote (rag/evaluation/metrics.evidence_rank,
the rule ``rag eval`` uses). Every variant replaces retrieval.prefer_matching_numbers, the step that
already puts passages naming the question's year first::

    flock /tmp/rag-heavy.lock scripts/offline.sh .venv/bin/python scripts/date_tiebreak.py
"""
from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import retrieval  # noqa: E402
from rag.evaluation.metrics import evidence_rank  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.text import numbers  # noqa: E402

RGB = ROOT.parent / "shared" / "bench" / "rgb"
LATEST = re.compile(r"\b(latest|most recent|newest|new|current|now|this year)\b", re.I)
BASELINE = retrieval.prefer_matching_numbers


def year_from_date(question, passages):
    """The article's year counts as a number the passage names."""
    wanted = numbers(question)
    if not wanted:
        return passages
    return sorted(passages, key=lambda p: len(wanted - numbers(f"{p.title} {p.date[:4]} {p.text}")))


def older_last(question, passages):
    """As year_from_date, and passages from articles published before the asked year go last."""
    years = [int(n) for n in numbers(question) if len(n) == 4 and n[:2] in ("19", "20")]
    ranked = year_from_date(question, passages)
    if not years:
        return ranked
    return sorted(ranked, key=lambda p: bool(p.date) and int(p.date[:4]) < min(years))


def newest_first_for_latest(question, passages):
    """As year_from_date, and for 'the latest / new / current' questions, newer articles first among the rest."""
    ranked = year_from_date(question, passages)
    if not LATEST.search(question):
        return ranked
    return sorted(ranked, key=lambda p: p.date or "0000", reverse=True)


VARIANTS = {"today": BASELINE, "year from date": year_from_date, "older than the year last": older_last,
            "newest first for 'latest'": newest_first_for_latest}


def hits(corpus: Path, testset: Path, top_k: int = 4) -> dict[str, dict]:
    """hit@k and the questions it was measured on, per variant."""
    items = [json.loads(line) for line in testset.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [i for i in items if i["answerable"] and i.get("evidence")]
    with tempfile.TemporaryDirectory() as home:
        index = Index(Settings.load(home=Path(home), corpus=corpus))
        index.ingest()
        dated = sum(1 for m in index.all_chunks()[2] if m.get("date"))
        searcher = retrieval.Retriever(index)
        result = {}
        for name, variant in VARIANTS.items():
            retrieval.prefer_matching_numbers = variant
            found = [evidence_rank([p.text for p in searcher.search(i["question"], top_k, 20)], i["evidence"])
                     for i in items]
            changed = [i["id"] for i, rank in zip(items, found) if (rank is None) != (result.get("today", {})
                       .get("ranks", {}).get(i["id"]) is None)] if result else []
            result[name] = {"hit_at_k": round(sum(r is not None for r in found) / len(items), 3),
                            "questions": len(items), "ranks": {i["id"]: r for i, r in zip(items, found)},
                            "changed": changed}
        retrieval.prefer_matching_numbers = BASELINE
        return {"dated_chunks": dated, "variants": result}


def main() -> int:
    sets = {"RGB dev": (RGB / "corpus", RGB / "dev.jsonl"), "bundled": (ROOT / "corpus", ROOT / "tests" / "testset.jsonl")}
    for label, (corpus, testset) in sets.items():
        if not testset.is_file():
            print(f"{label}: {testset} not found, skipped")
            continue
        measured = hits(corpus, testset)
        print(f"\n{label}: {measured['dated_chunks']} dated chunks")
        for name, r in measured["variants"].items():
            print(f"  {name:28s} hit@4 {r['hit_at_k']:.3f} on {r['questions']} questions; changed: {r['changed']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Follow-ups three ways on tests/followups.jsonl: searched alone (no rewrite), rewritten by the model
(``rewrite=auto``) and searched with the conversation (``rewrite=context``), in one process and model.

    scripts/offline.sh .venv/bin/python scripts/compare_followups.py [--json OUT]

The earlier questions are answered first, so the model's rewrite reads real answers, as in the chat. Judged by
the set's labels (each follow-up carries the evidence quotes and keyword groups of the test-set question it
stands for, written before the rule): hit@k and MRR of the sources the model reads, then, for the two rewrites,
the answers' keyword recall and refusals (rag.evaluation.records) and the first-token time, per fold ('bench':
the six follow-ups of ``rag bench`` that point back, looked at while choosing; 'confirm': the other 15).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluation.metrics import percentile  # noqa: E402
from rag.evaluation.records import score_answer, summarize  # noqa: E402
from rag.evaluation.retrieval import score_retrieval, summarize_retrieval  # noqa: E402
from rag.evaluation.testset import load_testset  # noqa: E402
from rag.pipeline import Assistant  # noqa: E402

KEPT = ("keyword_recall", "refused", "citation_precision", "ttft_p50_ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    assistant = Assistant()
    assistant.ingest()
    items = load_testset(ROOT / "tests" / "followups.jsonl")
    answered = {q: assistant.ask(q).answer for item in items for q in item["history"]}
    results = {}
    for mode in ("none", "auto", "context"):
        found, scored, ttft = {"bench": [], "confirm": []}, {"bench": [], "confirm": []}, []
        for item in items:
            history = [(q, answered[q]) for q in item["history"]]
            searched = item["question"] if mode == "none" else assistant.standalone(item["question"], history, mode)
            ranked, sources = assistant.retrieve(searched, assistant.settings)
            found[item["fold"]].append(score_retrieval(item, [p.text for p in ranked], [p.text for p in sources], 0.0))
            if mode != "none":
                answer = assistant.ask(item["question"], history, rewrite=mode)
                ttft.append(answer.timings.ttft_ms)
                scored[item["fold"]].append(score_answer(item, answer, assistant.similarity))
            print(mode, item["id"], "hit" if found[item["fold"]][-1].rank else "MISS", repr(searched), flush=True)
        results[mode] = {fold: {"retrieval": summarize_retrieval(found[fold]),
                                "answers": {k: v for k, v in summarize(scored[fold]).items() if k in KEPT} if scored[fold] else {}}
                         for fold in found}
        results[mode].update(ttft_p50_ms=percentile(ttft, 50) if ttft else None, load=f"{os.getloadavg()[0]:.2f}")
        print(json.dumps({mode: results[mode]}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

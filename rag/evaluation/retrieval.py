"""Retrieval-only evaluation (``rag eval --retrieval-only``): what reaches the model, scored without an answer.

Each question goes through ``Assistant.retrieve``, the answer path's own retrieval and context fitting,
with the model's tokenizer only (llama.cpp ``vocab_only``: no weights are read), so a whole test set takes
seconds and an embedder or a retrieval knob can be judged with held-out discipline: the questions are
split into two folds by a hash of their ids, a choice is made on one fold and reported on the other.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Optional, Sequence

from ..errors import RagError
from .metrics import evidence_rank, keyword_recall, mean, percentile, reciprocal_rank, share
from .testset import earlier_turns


@dataclass
class RetrievalRecord:
    id: str
    rank: Optional[int]  # 1-based rank of the first source the model reads that holds evidence; None: a miss
    ranked_rank: Optional[int]  # the same over retrieval's top-k passages, before the sentences are chosen
    keyword_coverage: Optional[float]  # share of the answer's required facts named somewhere in those sources
    retrieve_ms: float


def id_hash(item_id: str) -> int:
    """A question's place in the shuffle: the sha256 of its id, as a number."""
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest(), 16)


def split_folds(items: Sequence[dict], folds: int = 2) -> list[list[dict]]:
    """Folds of (nearly) equal size, fixed by the ids alone: the items shuffled by id_hash and dealt out in turn,
    each fold in file order. ``[len(f) for f in split_folds(rgb_dev)] -> [28, 28]``.
    """
    dealt = {item["id"]: n % folds for n, item in enumerate(sorted(items, key=lambda item: id_hash(item["id"])))}
    return [[item for item in items if dealt[item["id"]] == k] for k in range(folds)]


def score_retrieval(item: dict, ranked: Sequence[str], sources: Sequence[str], retrieve_ms: float) -> Optional[RetrievalRecord]:
    """A record for an answerable question with evidence, None for any other (nothing to find).

    ``score_retrieval({'id': 'q', 'answerable': True, 'evidence': ['Paris'], 'keywords': [['Paris']]},
    ['Lyon.', 'Paris.'], ['Paris.'], 3.0) -> RetrievalRecord('q', rank=1, ranked_rank=2, keyword_coverage=1.0, retrieve_ms=3.0)``
    """
    if not item["answerable"] or not item["evidence"]:
        return None
    return RetrievalRecord(item["id"], evidence_rank(sources, item["evidence"]), evidence_rank(ranked, item["evidence"]),
                           keyword_recall(" ".join(sources), item["keywords"]), retrieve_ms)


def summarize_retrieval(records: Sequence[RetrievalRecord]) -> dict:
    """hit@k and MRR over the sources the model reads (as ``rag eval`` scores them), the same over retrieval's
    passages, keyword coverage and retrieval time.

    ``summarize_retrieval([rec(rank=1), rec(rank=None)])['hit_at_k'] -> 0.5``
    """
    times = [r.retrieve_ms for r in records]
    got = {"questions": len(records),
           "hit_at_k": share(r.rank is not None for r in records),
           "mrr": mean(reciprocal_rank(r.rank) for r in records),
           "passage_hit_at_k": share(r.ranked_rank is not None for r in records),
           "passage_mrr": mean(reciprocal_rank(r.ranked_rank) for r in records),
           "keyword_coverage": mean(r.keyword_coverage for r in records if r.keyword_coverage is not None),
           "retrieve_ms_p50": percentile(times, 50), "retrieve_ms_p95": percentile(times, 95),
           "misses": [r.id for r in records if r.rank is None]}
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in got.items()}


def retrieval_assistant(settings):
    """An Assistant whose model is only its tokenizer (llama.cpp vocab_only): retrieval exactly as the answer path
    runs it, without reading the weights. Not for answering."""
    from llama_cpp import Llama

    from ..models import resolve_model
    from ..pipeline import Assistant

    settings = settings.model_copy(update={"warm_start": False, "llm_url": None})
    path = resolve_model(settings)
    assistant = Assistant(settings, llm=Llama(model_path=str(path), vocab_only=True, verbose=False))
    assistant.retrieval_only = True  # no model call: follow-ups only with rewrite='context'
    return assistant


def run_retrieval(assistant, items: Sequence[dict], overrides: Optional[dict] = None) -> tuple[dict, list[RetrievalRecord]]:
    """Every question's sources scored against its evidence, with per-question settings (e.g. ``{'top_k': 6}``)."""
    settings = assistant.with_overrides(dict(overrides or {}))
    if settings.rewrite != "context" and getattr(assistant, "retrieval_only", False) and any(i.get("history") for i in items):
        raise RagError(f"Follow-ups with rewrite={settings.rewrite} need the model to rewrite them: "
                       "run `rag eval` without --retrieval-only, or use rewrite=context.")
    records = []
    for item in items:
        started = time.perf_counter()
        searched = assistant.standalone(item["question"], earlier_turns(item), settings.rewrite)
        asked = assistant.with_overrides({**dict(overrides or {}), "today": item.get("today")})  # the day it is asked
        ranked, sources = assistant.retrieve(searched, asked)
        ms = (time.perf_counter() - started) * 1000
        record = score_retrieval(item, [p.text for p in ranked], [p.text for p in sources], ms)
        if record is not None:
            records.append(record)
    return summarize_retrieval(records), records


def figure(value, spec: str = ".3f") -> str:
    """A table cell: ``figure(0.5) -> '0.500'``; ``figure(None) -> '–'`` (a fold with no answerable question)."""
    return "–" if value is None else format(value, spec)


def retrieval_grid(assistant, items: Sequence[dict], combos: Sequence[dict]) -> tuple[str, list[dict]]:
    """``rag eval --retrieval-only``: per combination of settings, hit@k, MRR, keyword coverage and retrieval time on
    all questions and on each fold; the Markdown table and the results."""
    parts = {"all": list(items), **{f"fold{k}": part for k, part in enumerate(split_folds(items))}}
    lines = ["| settings | hit@k all / fold 0 / fold 1 | MRR all / fold 0 / fold 1 | keyword coverage | retrieve p50 ms |",
             "|---|---|---|---|---|"]
    results = []
    for combo in combos:
        got = {name: run_retrieval(assistant, part, combo)[0] for name, part in parts.items()}
        results.append({"settings": combo, **got})
        trio = lambda key: " / ".join(figure(got[name][key]) for name in parts)  # noqa: E731
        lines.append(f"| {', '.join(f'{k}={v}' for k, v in combo.items()) or 'defaults'} | {trio('hit_at_k')} | "
                     f"{trio('mrr')} | {figure(got['all']['keyword_coverage'])} | "
                     f"{figure(got['all']['retrieve_ms_p50'], '.0f')} |")
    return "\n".join(lines), results

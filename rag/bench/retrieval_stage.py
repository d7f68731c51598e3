"""Benchmark stage: dense, BM25 and hybrid search latency at growing index sizes (``rag bench``).

Beyond the RGB passages the chunks are synthetic (seeded random words, random unit vectors inserted
directly, not embedded). time_modes() is also what scripts/compare_embedders.py times with.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..settings import Settings
from .measure import loadavg, pct, peak_rss_mb


MODES = ("dense", "bm25", "hybrid")


def time_modes(retriever, questions: list[str], settings, modes=MODES) -> dict:
    """Each mode's p50/p95 in ms on a settled index, and its first search right after the index grew.

    The first search of each mode is timed as it comes (``first_ms``: what the first user after an upload
    waits; a stale BM25 starts its rebuild then). Then the rebuild is waited for (``settle_s``), so no timed
    question shares the CPU with it, and each question is timed in every mode in turn, so a change of load
    falls on all modes alike. ``{'dense': {'p50_ms': 21.0, 'p95_ms': 23.1, 'first_ms': 25.3}, …, 'settle_s': 1.2}``
    """
    first = {}
    for mode in modes:
        started = time.perf_counter()
        retriever.search(questions[0], settings.top_k, settings.candidates, mode)
        first[mode] = round((time.perf_counter() - started) * 1000, 1)
    started = time.perf_counter()
    retriever.settle()
    settle_s = round(time.perf_counter() - started, 2)
    times = {mode: [] for mode in modes}
    for question in questions:
        for mode in modes:
            started = time.perf_counter()
            retriever.search(question, settings.top_k, settings.candidates, mode)
            times[mode].append((time.perf_counter() - started) * 1000)
    out = {mode: {"p50_ms": pct(t, 50), "p95_ms": pct(t, 95), "first_ms": first[mode]} for mode, t in times.items()}
    return {**out, "settle_s": settle_s}


def synthetic_chunks(first: int, count: int, vocab: list[str], seed: int = 0, dims: int = 384):
    """Deterministic filler: ids, ~100 seeded random words each, random unit vectors (dims of the embedder), metadata."""
    import numpy as np

    rng = np.random.default_rng(seed + first)
    vectors = rng.standard_normal((count, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = np.asarray(vocab)
    ids, texts, metas = [], [], []
    for n in range(first, first + count):
        doc = f"synthetic-{n // 10:06d}"
        text = " ".join(words[rng.integers(0, len(words), 100)]) + "."
        ids.append(f"{doc}:00000000:{n % 10:05d}")
        texts.append(text)
        metas.append({"doc_id": doc, "title": f"Synthetic {n // 10}", "source": f"{doc}.txt", "content_hash": "0" * 64,
                      "n_chunks": 10, "index": n % 10, "start": 0, "end": len(text), "indexed_at": ""})
    return ids, texts, metas, vectors


def grow_index(index, size: int, vocab: list[str]) -> float:
    """Top the collection up to size chunks with synthetic ones; seconds taken."""
    started = time.perf_counter()
    have = index.count()
    for first in range(have, size, 4000):
        ids, texts, metas, vectors = synthetic_chunks(first, min(4000, size - first), vocab, dims=getattr(index.embedder, "dimensions", 384))
        index.collection.upsert(ids=ids, documents=texts, metadatas=metas, embeddings=vectors)
    index.generation += 1
    return time.perf_counter() - started


def time_after_upload(index, retriever, questions: list[str], settings, vocab: list[str]) -> dict:
    """The hybrid questions after a 10-chunk document arrives (removed afterwards): what a user waits after an upload."""
    ids, texts, metas, vectors = synthetic_chunks(10_000_000 + index.count(), 10, vocab, dims=getattr(index.embedder, "dimensions", 384))
    uploaded = time.perf_counter()
    index.collection.upsert(ids=ids, documents=texts, metadatas=metas, embeddings=vectors)
    index.generation += 1
    times = []
    for question in questions:
        started = time.perf_counter()
        retriever.search(question, settings.top_k, settings.candidates, "hybrid")
        times.append((time.perf_counter() - started) * 1000)
    retriever.settle()
    swapped_s = time.perf_counter() - uploaded  # until BM25 knows the upload (timed questions included)
    index.collection.delete(ids=ids)
    index.generation += 1
    retriever.search(questions[0], settings.top_k, settings.candidates, "hybrid")
    retriever.settle()  # the next size starts with a current model
    return {"first_ms": round(times[0], 1), "p95_ms": pct(times, 95), "bm25_current_after_s": round(swapped_s, 1),
            "load": loadavg()}


def stage_retrieval(p: dict) -> dict:
    from ..index import Index
    from ..retrieval import Retriever
    from ..text import WORD

    settings = Settings.load(home=p["home"], corpus=p["corpus"])
    index = Index(settings)
    retriever = Retriever(index)
    questions = [json.loads(line)["question"] for line in Path(p["queries_file"]).read_text().splitlines() if line.strip()]
    questions = (questions * (p["queries"] // max(len(questions), 1) + 1))[:p["queries"]]
    vocab = sorted({w for t in index.all_chunks()[1] for w in WORD.findall(t)}) or ["news", "market", "city", "report"]
    rows = []
    for size in p["sizes"]:
        fill_s = grow_index(index, size, vocab)
        row = {"chunks": index.count(), "fill_s": round(fill_s, 1), "load": loadavg()}
        row.update(time_modes(retriever, questions, settings))
        row["after_upload"] = time_after_upload(index, retriever, questions, settings, vocab)
        row["peak_rss_mb"] = peak_rss_mb()
        rows.append(row)
    return {"sizes": rows, "real_chunks": p.get("real_chunks"), "queries": len(questions),
            "note": "chunks beyond the RGB passages are synthetic: seeded random words and random unit vectors"}

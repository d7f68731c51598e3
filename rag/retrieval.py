"""Retrieval: dense (Chroma) and lexical (BM25) candidates, fused by reciprocal rank, de-duplicated.

Dense search finds paraphrases; BM25 finds rare names and numbers that embeddings blur.
Reciprocal rank fusion needs no score calibration between the two. Overlapping chunks of one
document are merged into one passage and near-identical passages are dropped, so the model's
small context holds as many distinct facts as possible.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Optional

from .index import Index
from .text import numbers, words

RRF_K = 60


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    score: float = 0.0
    similarity: Optional[float] = None  # cosine similarity to the question, when dense search saw it


def rrf_fuse(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of several rankings of ids, best first.

    ``rrf_fuse([['a', 'b'], ['b', 'c']], k=60)`` -> ``[('b', 1/62 + 1/61), ('a', 1/61), ('c', 1/62)]``
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def merge_overlapping(passages: list[Passage]) -> list[Passage]:
    """Merge passages of the same document whose spans overlap, chains included; the merged one keeps the better rank.

    A passage that bridges two kept ones joins all three, so no two returned passages of one document
    overlap and the characters covered are the same as before. Order is by first appearance.
    ``spans(merge_overlapping([p(0, 100), p(150, 250), p(90, 160)])) -> [(0, 250)]``
    """
    merged: list[Passage] = []
    for passage in passages:
        at = len(merged)
        for i in reversed(range(len(merged))):  # from the end, so popping keeps the lower indices valid
            if overlaps(merged[i], passage):
                passage, at = stitch(merged.pop(i), passage), i
        merged.insert(at, passage)
    return merged


def overlaps(a: Passage, b: Passage) -> bool:
    """True when a and b are slices of one document sharing at least one character."""
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


def stitch(a: Passage, b: Passage) -> Passage:
    """One passage covering two overlapping slices of the same document."""
    first, second = sorted((a, b), key=lambda p: p.start)
    text = first.text + second.text[first.end - second.start:] if second.end > first.end else first.text
    sims = [s for s in (a.similarity, b.similarity) if s is not None]
    return replace(a, text=text, start=first.start, end=max(first.end, second.end),
                   similarity=max(sims) if sims else None)


def prefer_matching_numbers(question: str, passages: list[Passage]) -> list[Passage]:
    """Passages naming more of the question's numbers first, in fused order otherwise.

    News questions hinge on a year or an edition ("the 2018 Tour de France"), and the index holds the
    same event in other years; word and embedding scores barely tell 2018 from 2019.
    ``[p.text for p in prefer_matching_numbers('Who won in 2018?', [p('2019 winner'), p('2018 winner')])]
    -> ['2018 winner', '2019 winner']``
    """
    wanted = numbers(question)
    if not wanted:
        return passages
    return sorted(passages, key=lambda p: len(wanted - numbers(f"{p.title} {p.text}")))


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """Word n-grams of lower-cased text: ``shingles('a b c d', 3) -> {('a','b','c'), ('b','c','d')}``."""
    tokens = words(text)
    if len(tokens) < size:
        return {tuple(tokens)}
    return {tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def drop_near_duplicates(passages: list[Passage], threshold: float = 0.8) -> list[Passage]:
    """Keep the first of passages whose word-shingle Jaccard similarity is at least threshold."""
    kept, kept_shingles = [], []
    for passage in passages:
        own = shingles(passage.text)
        if all(len(own & other) / max(len(own | other), 1) < threshold for other in kept_shingles):
            kept.append(passage)
            kept_shingles.append(own)
    return kept


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    """Lower-cased word tokens, the same for documents and queries."""
    return [words(text) for text in texts]


class Retriever:
    """Hybrid retrieval over an Index; the BM25 model is rebuilt only when the index changed."""

    def __init__(self, index: Index):
        self.index = index
        self._bm25 = None
        self._bm25_key = None
        self._lock = threading.Lock()

    def search(self, question: str, top_k: int, candidates: int, mode: str = "hybrid") -> list[Passage]:
        """The top_k best distinct passages for a question."""
        pool: dict[str, Passage] = {}
        rankings = []
        if mode in ("hybrid", "dense"):
            dense = self.dense(question, candidates)
            rankings.append([p.chunk_id for p in dense])
            pool.update({p.chunk_id: p for p in dense})
        if mode in ("hybrid", "bm25"):
            lexical = self.lexical(question, candidates)
            rankings.append([p.chunk_id for p in lexical])
            for p in lexical:
                pool.setdefault(p.chunk_id, p)
        fused = [replace(pool[cid], score=score) for cid, score in rrf_fuse(rankings)]
        return drop_near_duplicates(merge_overlapping(prefer_matching_numbers(question, fused)))[:top_k]

    def dense(self, question: str, n: int) -> list[Passage]:
        """Nearest chunks by cosine similarity of MiniLM embeddings."""
        count = self.index.count()
        if count == 0:
            return []
        got = self.index.guard(self.index.collection.query, query_texts=[question], n_results=min(n, count),
                               include=["documents", "metadatas", "distances"])
        return [to_passage(cid, text, meta, similarity=1.0 - dist)
                for cid, text, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])]

    def lexical(self, question: str, n: int) -> list[Passage]:
        """Best chunks by BM25 over title and text."""
        bm25, ids, texts, metas = self.bm25_model()
        query = bm25_tokens([question])[0]
        if not ids or not query:
            return []
        scores = bm25.get_scores(query)
        order = sorted(range(len(ids)), key=lambda i: -scores[i])[:n]
        return [to_passage(ids[i], texts[i], metas[i]) for i in order if scores[i] > 0]

    def bm25_model(self):
        """The BM25 model and the chunks it covers, rebuilt when the index changed."""
        import bm25s

        key = (self.index.generation, self.index.count())
        with self._lock:
            if self._bm25_key != key:
                ids, texts, metas = self.index.all_chunks()
                model = None
                if ids:
                    model = bm25s.BM25()
                    model.index(bm25_tokens([f"{m['title']}\n{t}" for t, m in zip(texts, metas)]), show_progress=False)
                self._bm25, self._bm25_key = (model, ids, texts, metas), key
            return self._bm25


def to_passage(chunk_id: str, text: str, meta: dict, similarity: Optional[float] = None) -> Passage:
    """A Passage from a stored chunk and its metadata."""
    return Passage(chunk_id, meta["doc_id"], meta["title"], meta["source"], text,
                   int(meta["start"]), int(meta["end"]), similarity=similarity)

"""Retrieval: dense (Chroma) and lexical (BM25) candidates, fused by reciprocal rank, de-duplicated.

Dense search finds paraphrases; BM25 finds rare names and numbers that embeddings blur.
Reciprocal rank fusion needs no score calibration between the two. Overlapping chunks of one
document are merged into one passage and near-identical passages are dropped, so the model's
small context holds as many distinct facts as possible.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from .distinctive import document_frequencies, in_collection
from .implied import implied
from .index import Index
from .text import language, numbers, words

RRF_K = 60
# The best passage in another language than the question's moves up to this place (0-based) when its similarity is
# within the margin of the best passage's: chosen on English questions over the Chinese slice mixed with English
# articles (0.03 to 0.10 alike), confirmed on the German, French and Spanish articles (docs/languages.md)
CROSS_LANGUAGE_MARGIN = 0.05
OTHER_LANGUAGE_PLACE = 1
# Up to this many chunks BM25 is rebuilt on the question's own path: reading and indexing them takes well under a
# second (the bench: 15.6 s for 100,000, so about 0.8 s for 5,000). Beyond it, in the background.
SYNC_REBUILD_CHUNKS = 5000


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
    date: str = ""  # the article's publication date, ISO (rag/dates.py); '' when unknown


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


def with_other_language(question: str, fused: list[Passage], dense: list[Passage],
                        margin: float = CROSS_LANGUAGE_MARGIN) -> list[Passage]:
    """Lexical search cannot find a passage in another language than the question's, and a multilingual embedder
    scores one a little below passages in the question's own language: so the best of them by dense similarity, when
    within margin of the best passage's, is moved up to second place (docs/languages.md#mixed-collections).

    ``[p.chunk_id for p in with_other_language('What will the refit cost?', [en1, en2, en3, zh], [en1(0.81), zh(0.79)])]``
    -> ``['en1', 'zh', 'en2', 'en3']``; with zh at 0.70 (0.11 below the best) nothing moves.
    """
    if not dense:
        return fused
    floor = (dense[0].similarity or 0.0) - margin
    near = [p for p in dense if (p.similarity or 0.0) >= floor]  # dense is best first: only these can move up
    asked = language(question)
    other = next((p for p in near if language(p.text) != asked), None)
    if other is None:
        return fused
    at = next((i for i, p in enumerate(fused) if p.chunk_id == other.chunk_id), None)
    if at is None or at <= OTHER_LANGUAGE_PLACE:
        return fused
    rest = fused[:at] + fused[at + 1:]
    return rest[:OTHER_LANGUAGE_PLACE] + [fused[at]] + rest[OTHER_LANGUAGE_PLACE:]


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """Word n-grams of lower-cased text: ``shingles('a b c d', 3) -> {('a','b','c'), ('b','c','d')}``."""
    tokens = words(text)
    if len(tokens) < size:
        return {tuple(tokens)}
    return {tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def drop_near_duplicates(passages: list[Passage], threshold: float = 0.8, limit: Optional[int] = None) -> list[Passage]:
    """Keep the first of passages whose word-shingle Jaccard similarity is at least threshold; stop at limit kept
    (a later passage never changes what was kept before it, so the first limit are the same either way)."""
    kept, kept_shingles = [], []
    for passage in passages:
        if limit is not None and len(kept) >= limit:
            break
        own = shingles(passage.text)
        if all(len(own & other) / max(len(own | other), 1) < threshold for other in kept_shingles):
            kept.append(passage)
            kept_shingles.append(own)
    return kept


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    """Lower-cased word tokens, the same for documents and queries."""
    return [words(text) for text in texts]


@dataclass(frozen=True)
class Lexical:
    """A built BM25 model and the ids of the chunks it covers, as of the index's change key; replaced whole, never
    edited. The texts are read from the store per question, so memory holds only the model and the ids."""
    model: object
    ids: list
    key: tuple
    frequencies: dict = field(default_factory=dict)  # word -> how many chunks hold it (distinctive.py)


def top_indices(scores, n: int) -> list[int]:
    """Indices of the n highest positive scores, best first (ties by index), without sorting them all.

    ``top_indices(np.array([0.0, 3.0, 1.0, 3.0]), 2) -> [1, 3]``
    """
    import numpy as np

    scores = np.asarray(scores)
    if len(scores) > n:
        candidates = np.argpartition(-scores, n - 1)[:n]
    else:
        candidates = np.arange(len(scores))
    best = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
    return [i for i in best if scores[i] > 0]


def build_lexical(index: Index, key: tuple) -> Lexical:
    """Read every chunk and build BM25 over title and text (15 s at 100,000 chunks: kept off the question's path)."""
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import: a log line per build otherwise
    ids, texts, metas = index.all_chunks()
    model = None
    tokenised = bm25_tokens([f"{m['title']}\n{t}" for t, m in zip(texts, metas)])
    if ids:
        model = bm25s.BM25()
        model.index(tokenised, show_progress=False)
    return Lexical(model, ids, key, document_frequencies(tokenised)[0])


class Retriever:
    """Hybrid retrieval over an Index.

    BM25 is built on the first question; after any change to the index (by this process or another, seen
    by Index.change_key), it is rebuilt before the answer when the index is small (SYNC_REBUILD_CHUNKS),
    else in a background thread while questions go on with the previous model. Its hits are always read from the
    store, so a deleted or changed chunk is never returned as it was. The new
    model is swapped in whole when it is ready: a question never sees a half-built one. Dense search
    always sees the current index, so a new document is found from the first question.
    """

    def __init__(self, index: Index):
        self.index = index
        self._lexical: Optional[Lexical] = None
        self._lock = threading.Lock()  # one first build at a time
        self._rebuild: Optional[threading.Thread] = None

    def search(self, question: str, top_k: int, candidates: int, mode: str = "hybrid",
               prefer_numbers: bool = True, arrange: Optional[Callable] = None) -> list[Passage]:
        """The top_k best distinct passages for a question (those naming its numbers first, unless prefer_numbers is
        off), after arrange(passages) -> passages reorders the candidates (the question's time: when.order)."""
        pool: dict[str, Passage] = {}
        rankings = []
        if mode in ("hybrid", "dense"):
            dense = self.dense(question, candidates)
            rankings.append([p.chunk_id for p in dense])
            pool.update({p.chunk_id: p for p in dense})
        if mode in ("hybrid", "bm25"):
            lexical = self.lexical(question, candidates, known=pool)
            rankings.append([p.chunk_id for p in lexical])
            for p in lexical:
                pool.setdefault(p.chunk_id, p)
        fused = [replace(pool[cid], score=score) for cid, score in rrf_fuse(rankings)]
        if mode == "hybrid":
            fused = with_other_language(question, fused, dense)
        ordered = prefer_matching_numbers(question, fused) if prefer_numbers else fused
        ordered = arrange(ordered) if arrange else ordered
        return drop_near_duplicates(merge_overlapping(ordered), limit=top_k)

    def dense(self, question: str, n: int) -> list[Passage]:
        """Nearest chunks by cosine similarity of the embedder's vectors (the question embedded as a query)."""
        embedder = self.index.embedder
        vector = (getattr(embedder, "embed_query", None) or embedder)([question])
        got = self.index.guard(self.index.collection.query, query_embeddings=vector, n_results=n,  # fewer when fewer
                               include=["documents", "metadatas", "distances"])
        return [to_passage(cid, text, meta, similarity=1.0 - dist)
                for cid, text, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])]

    def lexical(self, question: str, n: int, known: Optional[dict[str, Passage]] = None) -> list[Passage]:
        """Best chunks by BM25 over title and text, read from the store as it is now (a chunk deleted or changed
        since the model was built is never returned as it was), except those just read by dense search (known)."""
        lexical = self.bm25_model()
        query = bm25_tokens([f"{question} {implied(question)}"])[0]  # "who runs X": "chief executive" too
        if not lexical.ids or not query:
            return []
        ids = [lexical.ids[i] for i in top_indices(lexical.model.get_scores(query), n)]
        known = known or {}
        stored = {cid: known[cid] for cid in ids if cid in known}
        unread = [cid for cid in ids if cid not in stored]
        if unread:
            got = self.index.guard(self.index.collection.get, ids=unread, include=["documents", "metadatas"])
            stored |= {cid: to_passage(cid, text, meta) for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])}
        return [stored[cid] for cid in ids if cid in stored]

    def bm25_model(self) -> Lexical:
        """The BM25 model to use now: the current one, or after a change to a large index the previous one while
        the new one is built in the background. The index is counted only after a change (10 ms at 100,000 chunks)."""
        key = self.index.change_key()
        lexical = self._lexical
        if lexical is not None and lexical.key == key:
            return lexical
        if lexical is None or self.index.count() <= SYNC_REBUILD_CHUNKS:
            with self._lock:  # the first question builds it (there is nothing older), as does any on a small index
                if self._lexical is None or self._lexical.key != key:
                    self._lexical = build_lexical(self.index, key)
                return self._lexical
        with self._lock:
            if self._rebuild is None or not self._rebuild.is_alive():
                self._rebuild = threading.Thread(target=self.rebuild, args=(key,), name="bm25-rebuild")
                self._rebuild.start()
        return lexical

    def rebuild(self, key: tuple) -> None:
        """Build BM25 for the index as of key and swap it in (a later change starts another rebuild).

        Not a daemon thread: an interpreter exiting under a thread inside Chroma's native code crashes (SIGSEGV),
        so exit waits for the build instead.
        """
        try:
            self._lexical = build_lexical(self.index, key)
        except Exception:  # a store failing now fails the next question's own read, with its message
            pass

    def common(self):
        """Which words are common in the language or in this collection's chunks (distinctive.in_collection)."""
        lexical = self.bm25_model()
        return in_collection(lexical.frequencies, len(lexical.ids))

    def settle(self, timeout: float = 600.0) -> bool:
        """Wait for a background rebuild to finish (tests, benchmarks); True when none is running."""
        thread = self._rebuild
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()


def to_passage(chunk_id: str, text: str, meta: dict, similarity: Optional[float] = None) -> Passage:
    """A Passage from a stored chunk and its metadata."""
    return Passage(chunk_id, meta["doc_id"], meta["title"], meta["source"], text,
                   int(meta["start"]), int(meta["end"]), similarity=similarity, date=meta.get("date", ""))

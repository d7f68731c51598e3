"""Evaluation metrics: pure functions from answers, passages and references to scores.

- Retrieval, over answerable questions: a passage given to the model holds evidence when a quote is
  inside it (case, typographic quotes and whitespace ignored), or when 80% of the quote's words are one
  unbroken run of it (a quote cut by a chunk boundary); hit@k and reciprocal rank follow.
- Answers, over answerable questions, markers removed: keyword recall, SQuAD token F1, embedding
  similarity. A refused (or failed) answerable question scores 0 on all three.
- Citations, over non-refused answers: ALCE-style precision and recall from the pipeline's own
  support verdicts (``Claim.supported``).
- Refusals and latency percentiles. Nothing here loads a model; evaluation.py runs the questions.
"""
from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from ..citations import SimilarityFn
from ..text import strip_markers

STRADDLE_SHARE = 0.8  # a quote cut by a chunk boundary counts when this share of its words is one unbroken run
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
ARTICLES = re.compile(r"\b(a|an|the)\b")
PUNCTUATION = frozenset(string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026")


def fold(text: str) -> str:
    """Lower-case, typographic quotes and dashes made plain, whitespace collapsed.

    ``fold('Don\u2019t  \\n Work') -> "don't work"``
    """
    return " ".join(text.translate(QUOTES).lower().split())


def longest_run(needle: Sequence[str], haystack: Sequence[str]) -> int:
    """Length of the longest run of consecutive needle words that appears consecutively in haystack.

    ``longest_run('a b c d'.split(), 'x c d y a b'.split()) -> 2``
    """
    best, previous = 0, [0] * (len(haystack) + 1)
    for word in needle:
        current = [0] * (len(haystack) + 1)
        for j, other in enumerate(haystack, 1):
            if word == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def contains_evidence(passage: str, quote: str, share: float = STRADDLE_SHARE) -> bool:
    """True when the quote is in the passage (case- and whitespace-insensitive), or, for a quote cut
    by a chunk boundary, when at least ``share`` of its words appear in it as one unbroken run.

    ``contains_evidence('... the world was gonna head to', 'The world was gonna head to be mostly built') -> False`` (6/9)
    """
    quote, passage = fold(quote), fold(passage)
    if not quote:
        return False
    if quote in passage:
        return True
    words = quote.split()
    return longest_run(words, passage.split()) >= share * len(words)


def evidence_rank(passages: Sequence[str], evidence: Sequence[str]) -> Optional[int]:
    """1-based rank of the first passage holding any evidence quote; None when none does.

    ``evidence_rank(['cats purr', 'dogs bark'], ['Dogs  bark']) -> 2``
    """
    for rank, passage in enumerate(passages, 1):
        if any(contains_evidence(passage, quote) for quote in evidence):
            return rank
    return None


def reciprocal_rank(rank: Optional[int]) -> float:
    """``reciprocal_rank(2) -> 0.5``; 0.0 when no passage holds evidence."""
    return 1.0 / rank if rank else 0.0


def keyword_recall(answer: str, groups: Sequence[Sequence[str]]) -> Optional[float]:
    """Share of required facts (keyword groups) with any alternative named in the answer.

    An alternative matches as whole words, case-insensitive ("lack" does not match "Blackwell"); one
    ending in ``*`` matches as a prefix (``worr*``: worried, worries); a match negated by one of the three
    words before it ("he isn't worried") does not count. None when there are no groups.
    ``keyword_recall('Biden, then Trump.', [['Biden'], ['Trump', 'Donald'], ['Obama']]) -> 0.667`` (2 of 3)
    """
    if not groups:
        return None
    text = fold(answer)
    found = sum(any(names(text, alt) for alt in group) for group in groups)
    return found / len(groups)


NEGATION = re.compile(r"(?:\b(?:not|no|never|neither|nor|without)\b|n't)\W*(?:\w+\W+){0,2}$")


def names(text: str, keyword: str) -> bool:
    """Whether folded text names keyword (whole words, ``*`` = prefix) without negating it.

    ``names("he isn't worried", 'worr*') -> False``; ``names('export controls don't work', "don't work") -> True``
    """
    prefix = keyword.endswith("*")
    wanted = re.escape(fold(keyword.rstrip("*")))
    pattern = re.compile(r"(?<!\w)" + wanted + ("" if prefix else r"(?!\w)"))
    return any(not NEGATION.search(text[:m.start()]) for m in pattern.finditer(text))


def squad_tokens(text: str) -> list[str]:
    """SQuAD answer normalisation: lower-case, no punctuation, no articles, split on whitespace.

    ``squad_tokens('The U.S. chips!') -> ['us', 'chips']``
    """
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall after SQuAD normalisation.

    ``token_f1('Biden and Trump', 'the Biden administration') -> 0.4`` (1 shared of 3 and 2 tokens)
    """
    pred, ref = squad_tokens(prediction), squad_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    shared = sum((Counter(pred) & Counter(ref)).values())
    if not shared:
        return 0.0
    precision, recall = shared / len(pred), shared / len(ref)
    return 2 * precision * recall / (precision + recall)


def citation_scores(claims: Sequence) -> tuple[Optional[float], Optional[float]]:
    """ALCE-style (precision, recall) of one answer from its checked claims.

    Precision: share of (sentence, cited source) pairs whose source supports the sentence.
    Recall: share of sentences with at least one supporting cited source (uncited sentences count
    against it). An answer with sentences but no citation scores (0, 0), as in ALCE; one with no
    sentence (a refusal) scores (None, None).
    ``citation_scores([Claim('A.', [1], [1]), Claim('B.', [1, 2], [2]), Claim('C.', [], [])]) -> (0.667, 0.667)``
    """
    if not claims:
        return None, None
    pairs = sum(len(c.cited) for c in claims)
    supported = sum(len(set(c.supported) & set(c.cited)) for c in claims)
    precision = supported / pairs if pairs else 0.0
    recall = sum(bool(set(c.supported) & set(c.cited)) for c in claims) / len(claims)
    return precision, recall


def evidence_citation_scores(records: Sequence[Record]) -> dict:
    """Citations judged by the test set's evidence quotes, never by the pipeline's own checker.

    Over non-refused answers to answerable questions: precision is the share of all their cited sources
    that hold an evidence quote (the hit@k rule); recall is the share of those answers that cite at least
    one such source (an answer citing nothing counts as a miss).
    ``evidence_citation_scores([Record(..., cited_evidence=[True, False]), Record(..., cited_evidence=[])])``
    -> ``{'evidence_citation_precision': 0.5, 'evidence_citation_recall': 0.5}``
    """
    flags = [flag for r in records for flag in r.cited_evidence]
    return {"evidence_citation_precision": share(flags),
            "evidence_citation_recall": share(any(r.cited_evidence) for r in records)}


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The q-th percentile with linear interpolation between ranks (numpy's default); None when empty.

    ``percentile([10, 20, 30, 40], 50) -> 25.0``; ``percentile([10, 20, 30, 40], 95) -> 38.5``
    """
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[Optional[float]]) -> Optional[float]:
    """Mean of the values that are not None; None when there are none: ``mean([1, None, 0]) -> 0.5``."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def share(flags: Iterable[bool]) -> Optional[float]:
    """Share of true flags; None for no flags: ``share([True, False, False, True]) -> 0.5``."""
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None


@dataclass
class Record:
    """One question's answer and its scores; None where a metric does not apply."""
    id: str
    question: str
    answerable: bool
    reference: str
    answer: str
    refused: bool
    verdict: str = ""
    citations: list[dict] = field(default_factory=list)  # {n, title, supported}
    claims: list[dict] = field(default_factory=list)  # {text, cited, supported, scores}
    passages: list[str] = field(default_factory=list)  # "source:start-end" of each passage given to the model
    evidence_rank: Optional[int] = None
    hit: Optional[bool] = None
    reciprocal_rank: Optional[float] = None
    keyword_recall: Optional[float] = None
    token_f1: Optional[float] = None
    semantic_similarity: Optional[float] = None
    citation_precision: Optional[float] = None  # the pipeline's own support checker's verdicts
    citation_recall: Optional[float] = None
    cited_evidence: list[bool] = field(default_factory=list)  # per cited source: holds an evidence quote
    retrieve_ms: float = 0.0
    ttft_ms: Optional[float] = None  # None when the model was not asked (refused on relevance)
    total_ms: float = 0.0
    tokens_per_s: Optional[float] = None
    error: str = ""


def score_answer(item: dict, answer, similarity: Optional[SimilarityFn] = None) -> Record:
    """Score one pipeline Answer against its test-set item by the rules in the module docstring."""
    record = Record(item["id"], item["question"], item["answerable"], item["answer"], answer.answer, answer.refused)
    record.passages = [f"{p.source}:{p.start}-{p.end}" for p in answer.passages]
    if item["answerable"] and item["evidence"]:
        record.evidence_rank = evidence_rank([p.text for p in answer.passages], item["evidence"])
        record.hit = record.evidence_rank is not None
        record.reciprocal_rank = reciprocal_rank(record.evidence_rank)
    if item["answerable"]:
        score_quality(record, item, similarity)
    if not answer.refused:
        record.citation_precision, record.citation_recall = citation_scores(answer.claims)
        record.citations = [{"n": c.n, "title": c.title, "supported": c.supported} for c in answer.citations]
        if item["answerable"] and item["evidence"]:
            record.cited_evidence = [any(contains_evidence(c.text, quote) for quote in item["evidence"])
                                     for c in answer.citations]
        record.claims = [{"text": c.text, "cited": c.cited, "supported": c.supported, "scores": c.scores}
                         for c in answer.claims]
    t = answer.timings
    record.retrieve_ms, record.total_ms = t.retrieve_ms, t.total_ms
    if t.completion_tokens:
        record.ttft_ms = t.ttft_ms
        record.tokens_per_s = round(t.tokens_per_s, 2) if t.completion_tokens > 1 else None
    record.verdict = verdict(record)
    return rounded(record)


def rounded(record: Record, digits: int = 4) -> Record:
    """The record with its float scores rounded, for readable JSON."""
    for name in ("reciprocal_rank", "keyword_recall", "token_f1", "semantic_similarity",
                 "citation_precision", "citation_recall"):
        value = getattr(record, name)
        if value is not None:
            setattr(record, name, round(value, digits))
    return record


def error_record(item: dict, message: str) -> Record:
    """The record of a question the pipeline failed on: it scores 0 on answer quality."""
    record = Record(item["id"], item["question"], item["answerable"], item["answer"], "", False, error=message)
    if item["answerable"]:
        score_quality(record, item, None)
    record.verdict = verdict(record)
    return record


def score_quality(record: Record, item: dict, similarity: Optional[SimilarityFn]) -> None:
    """Keyword recall, token F1 and semantic similarity of an answerable question's answer."""
    if record.refused or record.error:
        record.keyword_recall = 0.0 if item["keywords"] else None
        record.token_f1 = record.semantic_similarity = 0.0
        return
    text = strip_markers(record.answer)
    record.keyword_recall = keyword_recall(text, item["keywords"])
    record.token_f1 = token_f1(text, item["answer"])
    if similarity is not None:
        record.semantic_similarity = max(0.0, float(similarity(text, [item["answer"]])[0]))


def verdict(record: Record) -> str:
    """A short human label: ``'correct'``, ``'partial; retrieval miss'``, ``'false refusal'``, …"""
    if record.error:
        return "error"
    if not record.answerable:
        return "refused (correct)" if record.refused else "answered, should refuse"
    if record.refused:
        label = "false refusal"
    else:
        quality = record.keyword_recall if record.keyword_recall is not None else record.token_f1
        label = "correct" if quality >= 1 else "partial" if quality > 0 else "wrong"
    return label + ("; retrieval miss" if record.hit is False else "")


def summarize(records: Sequence[Record]) -> dict:
    """The run's metrics from its records (see evaluation.METRIC_NOTES for each definition)."""
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    answered = [r for r in records if not r.refused and not r.error]
    generated = [r for r in records if r.ttft_ms is not None]
    metrics = {
        "hit_at_k": share(r.hit for r in answerable if r.hit is not None),
        "mrr": mean(r.reciprocal_rank for r in answerable),
        "keyword_recall": mean(r.keyword_recall for r in answerable),
        "token_f1": mean(r.token_f1 for r in answerable),
        "semantic_similarity": mean(r.semantic_similarity for r in answerable),
        "citation_precision": mean(r.citation_precision for r in answered),
        "citation_recall": mean(r.citation_recall for r in answered),
        "uncited_answer_rate": share(not r.citations for r in answered),
        **evidence_citation_scores([r for r in answered if r.answerable and r.hit is not None]),
        "refusal_accuracy": share(r.refused for r in unanswerable),
        "false_refusal_rate": share(r.refused for r in answerable),
        "retrieve_p50_ms": percentile([r.retrieve_ms for r in records], 50),
        "retrieve_p95_ms": percentile([r.retrieve_ms for r in records], 95),
        "ttft_p50_ms": percentile([r.ttft_ms for r in generated], 50),
        "ttft_p95_ms": percentile([r.ttft_ms for r in generated], 95),
        "total_p50_ms": percentile([r.total_ms for r in records], 50),
        "total_p95_ms": percentile([r.total_ms for r in records], 95),
        "tokens_per_s": percentile([r.tokens_per_s for r in generated if r.tokens_per_s is not None], 50),
        "questions": len(records), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "refused": sum(r.refused for r in records), "errors": sum(bool(r.error) for r in records),
    }
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}

"""Records: one scored question each, and the run's metrics from them.

``score_answer`` turns a pipeline Answer and its test-set item into a Record with the pure metrics of
metrics.py; ``summarize`` gives the run's metrics; ``evidence_citation_scores`` judges citations by the
test set's evidence and ``risk_coverage`` the refusal trade-off over answerability thresholds. Nothing
here loads a model; run.py asks the questions.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

from .. import grounding
from ..answerability import source_text
from ..citations import SimilarityFn
from ..distinctive import Common, in_language
from ..text import strip_markers
from .judge import judge_metrics
from .metrics import (citation_scores, contains_evidence, evidence_rank, keyword_recall, mean, percentile,
                      reciprocal_rank, share, token_f1)


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
    confidence: Optional[float] = None  # the model's confidence in the answer's names and numbers
    stated: Optional[float] = None  # the model's P(yes) that the sources state the answer, when checked
    judge: Optional[dict] = None  # judge.Judge's verdicts, when a judge model was given
    refused_by: str = ""  # when refused: "relevance", "numbers", "missing", "model", "confidence", "grounding"…
    reason: str = ""  # the refusal's reason as the reader is shown it
    signals: Optional[dict] = None  # answerability.Signals of a written answer
    grounded: Optional[float] = None  # the combiner's probability, when it ran
    missing: list[list[str]] = field(default_factory=list)  # [kind, text] of the question's specifics no source names
    kind: str = ""  # the test set's question type ("current", "interval", …), when it gives one
    lang: str = ""  # the question's language, when the test set gives it
    correct: Optional[bool] = None  # answered with every required fact and a cited evidence passage; or rightly refused
    as_of: str = ""  # the date of the newest source the answer cites (Answer.as_of)
    retrieve_ms: float = 0.0
    ttft_ms: Optional[float] = None  # None when the model was not asked (refused on relevance)
    total_ms: float = 0.0
    check_ms: Optional[float] = None  # the checks after the answer was written (None when none ran)
    tokens_per_s: Optional[float] = None
    error: str = ""


def score_answer(item: dict, answer, similarity: Optional[SimilarityFn] = None, common: Common = in_language) -> Record:
    """Score one pipeline Answer against its test-set item by the rules in the module docstring (common: the words
    of a name that need not be found, as the pipeline decided them: Retriever.common)."""
    record = Record(item["id"], item["question"], item["answerable"], item["answer"], answer.answer, answer.refused,
                    kind=item.get("type", ""), lang=item.get("lang", ""), as_of=answer.as_of)
    record.passages = [f"{p.source}:{p.start}-{p.end}" for p in answer.passages]
    record.confidence, record.stated, record.refused_by = answer.confidence, answer.stated, answer.refused_by
    record.reason, record.grounded = answer.why, answer.grounded
    record.signals = asdict(answer.signals) if answer.signals else None
    record.missing = [[c.kind, c.text] for c in grounding.missing(grounding.constraints(
        answer.standalone_question or answer.question), [source_text(p) for p in answer.passages], common=common)]
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
        record.claims = [{"text": c.text, "cited": c.cited, "supported": c.supported, "scores": c.scores,
                          "checked": c.checked, "grounded": c.grounded, "unheld": c.unheld} for c in answer.claims]
    t = answer.timings
    record.retrieve_ms, record.total_ms = t.retrieve_ms, t.total_ms
    if t.completion_tokens:
        record.ttft_ms, record.check_ms = t.ttft_ms, t.check_ms
        record.tokens_per_s = round(t.tokens_per_s, 2) if t.completion_tokens > 1 else None
    record.verdict = verdict(record)
    record.correct = is_correct(record, item)
    return rounded(record)


def is_correct(record: Record, item: dict) -> bool:
    """The test set's judgement of one answer, never the pipeline's: an unanswerable question refused; an
    answerable one answered (not refused) with every required fact (all keyword groups, or a token F1 of at least
    0.5 when the item has none) and, when the item has evidence, citing a source that holds an evidence quote.

    ``is_correct(Record(…, answerable=True, refused=False, keyword_recall=1.0, cited_evidence=[False, True]), item)
    -> True``
    """
    if record.error:
        return False
    if not record.answerable:
        return record.refused
    if record.refused:
        return False
    facts = record.keyword_recall == 1.0 if item.get("keywords") else (record.token_f1 or 0.0) >= 0.5
    return facts and (any(record.cited_evidence) or not item.get("evidence"))


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
    record = Record(item["id"], item["question"], item["answerable"], item["answer"], "", False, error=message,
                    kind=item.get("type", ""), lang=item.get("lang", ""))
    if item["answerable"]:
        score_quality(record, item, None)
    record.verdict = verdict(record)
    record.correct = False
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
        "accuracy": share(r.correct for r in records if r.correct is not None),
        "refusal_accuracy": share(r.refused for r in unanswerable),
        "false_refusal_rate": share(r.refused for r in answerable),
        "retrieve_p50_ms": percentile([r.retrieve_ms for r in records], 50),
        "retrieve_p95_ms": percentile([r.retrieve_ms for r in records], 95),
        "ttft_p50_ms": percentile([r.ttft_ms for r in generated], 50),
        "ttft_p95_ms": percentile([r.ttft_ms for r in generated], 95),
        "total_p50_ms": percentile([r.total_ms for r in records], 50),
        "total_p95_ms": percentile([r.total_ms for r in records], 95),
        "check_p50_ms": percentile([r.check_ms for r in generated if r.check_ms is not None], 50),
        "tokens_per_s": percentile([r.tokens_per_s for r in generated if r.tokens_per_s is not None], 50),
        "questions": len(records), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "refused": sum(r.refused for r in records), "errors": sum(bool(r.error) for r in records),
    }
    metrics.update(judge_metrics([r.judge for r in records]))
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def accuracy_by(records: Sequence[Record], key: str = "kind") -> dict[str, dict]:
    """Accuracy (is_correct) per question type (key 'kind') or language ('lang'), for the types the set gives.

    ``accuracy_by([Record(…, kind='current', correct=True), Record(…, kind='current', correct=False)])
    -> {'current': {'accuracy': 0.5, 'questions': 2}}``
    """
    groups: dict[str, list[Record]] = {}
    for r in records:
        if getattr(r, key):
            groups.setdefault(getattr(r, key), []).append(r)
    return {name: {"accuracy": round(share(bool(r.correct) for r in group), 4), "questions": len(group)}
            for name, group in sorted(groups.items())}


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


SCORES = {"confidence": "min_confidence", "stated": "min_stated"}  # each refusal score and its setting


def risk_coverage(records: Sequence[Record], score: str = "confidence") -> list[dict]:
    """What each refusal threshold on one answerability score would give: one point per distinct score.

    score is a Record field of SCORES. A question counts as refused at threshold t when the pipeline refused it
    for another reason (no passage relevant enough, a number no source names, the model's own refusal, the
    other score) or its score is below t. A question the run refused
    *because of* its confidence counts as answered at thresholds up to its score: what the model would have said
    there is unknown (run with the rule off, ``min_confidence=0``, for an exact curve).
    ``[(p['threshold'], p['refusal_accuracy'], p['false_refusal_rate']) for p in risk_coverage(
    [Record('a', 'q', True, 'r', 'x', False, confidence=0.8), Record('b', 'q', False, 'r', 'x', False, confidence=0.3)])]``
    -> ``[(0.0, 0.0, 0.0), (0.3, 1.0, 0.0), (0.8, 1.0, 1.0), (1.01, 1.0, 1.0)]``
    """
    scored = [r for r in records if not r.error]
    values = {id(r): getattr(r, score) for r in scored}
    cuts = sorted({0.0, 1.01, *(v + 1e-9 for v in values.values() if v is not None)})

    def refused(r: Record, t: float) -> bool:
        value = values[id(r)]
        return (r.refused and r.refused_by != score) or (value is not None and value < t)

    return [{"threshold": round(t, 4),
             "refusal_accuracy": share(refused(r, t) for r in scored if not r.answerable),
             "false_refusal_rate": share(refused(r, t) for r in scored if r.answerable)} for t in cuts]

"""The answer and its parts, as every face shows them: the checked text, its citations, timings, verdicts.

``Answer.to_json()`` is the documented shape of ``rag ask --json``, the chat's API, ``/v1``'s extra fields and
the MCP tool's result; ``Answer.marked`` is the text a reader is shown, each unbacked sentence marked.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from .answerability import REASONS, Signals
from .citations import marked_text
from .retrieval import Passage
from .text import inert


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: str
    text: str
    start: int
    end: int
    supported: bool
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans within text of the cited sentences
    date: str = ""  # the article's publication date, ISO (YYYY-MM-DD, YYYY-MM or YYYY); '' when unknown


@dataclass
class Timings:
    retrieve_ms: float = 0.0
    ttft_ms: float = 0.0  # from the question (once it has an answer slot) to the first answer token, retrieval included
    check_ms: float = 0.0  # the checks after the answer was written (its sentences against what they cite)
    total_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens_per_s(self) -> float:
        """Decoding speed after the first token."""
        decode_s = (self.total_ms - self.ttft_ms) / 1000
        return (self.completion_tokens - 1) / decode_s if self.completion_tokens > 1 and decode_s > 0 else 0.0


@dataclass
class Retrieved:
    """The passages the model is about to read, yielded by ``Assistant.stream(..., sources_first=True)``."""
    passages: list[Passage]
    standalone_question: str
    retrieve_ms: float


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    passages: list[Passage]  # every source shown to the model, numbered from 1
    claims: list  # citations.Claim per answer sentence
    timings: Timings
    model: str
    standalone_question: str = ""
    withheld: str = ""  # the model's own words when they were replaced by the refusal sentence
    confidence: Optional[float] = None  # the model's confidence in the answer's names and numbers (answerability.py)
    stated: Optional[float] = None  # the model's P(yes) that the sources state the answer, when checked
    refused_by: str = ""  # why: "relevance", "numbers", "missing", "model", "confidence", "stated", "grounding"…
    reason: str = ""  # the refusal's reason in the reader's terms ("The articles found do not mention H20.")
    signals: Optional[Signals] = None  # what the checks measured (answerability.Signals)
    grounded: Optional[float] = None  # the combiner's probability that the answer is grounded, when it ran

    @property
    def why(self) -> str:
        """Why it refused, in one sentence: the specific reason, or the rule's general one."""
        return self.reason or REASONS.get(self.refused_by, "")

    @property
    def marked(self) -> str:
        """The answer as a reader is shown it: each sentence the checks do not back marked as not found."""
        return self.answer if self.refused or not self.claims else marked_text(self.claims)

    def to_json(self) -> dict:
        """The documented JSON shape of ``rag ask --json``: every text with no live link or image (text.inert), as
        every face shows them, but one: each citation's ``text`` is the article's exact text, for its ``start``/
        ``end`` offsets, and is documented as raw (a client that renders it escapes it first, as the page does)."""
        return {
            "question": inert(self.question), "answer": inert(self.answer), "refused": self.refused,
            "citations": [{**{k: v for k, v in asdict(c).items() if k != "highlights"}, "title": inert(c.title),
                           "source": inert(c.source)} for c in self.citations],
            "timings": {**asdict(self.timings), "tokens_per_s": round(self.timings.tokens_per_s, 2)},
            "model": self.model,
            "standalone_question": inert(self.standalone_question or self.question),
            "withheld": inert(self.withheld), "confidence": self.confidence, "stated": self.stated,
            "refused_by": self.refused_by, "reason": inert(self.why), "grounded": self.grounded,
            "signals": asdict(self.signals) if self.signals else None, "marked": inert(self.marked),
            "sentences": [{"text": inert(c.text), "cited": c.cited, "supported": bool(c.grounded),
                           "check": c.best_check()} for c in self.claims] if not self.refused else [],
            "sources": [{"n": n, "title": inert(p.title), "source": inert(p.source), "date": p.date, "chunk_id": p.chunk_id,
                         "similarity": p.similarity} for n, p in enumerate(self.passages, 1)],
        }


def make_citation(n: int, passage: Passage, supported: bool, highlights: list[tuple[int, int]]) -> Citation:
    return Citation(n, passage.doc_id, passage.title, passage.source, passage.chunk_id, passage.text,
                    passage.start, passage.end, supported, highlights, passage.date)

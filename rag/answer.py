"""The answer and its parts, as every face shows them: the checked text, its citations, timings, verdicts.

``Answer.to_json()`` is the documented shape of ``rag ask --json``, the chat's API, ``/v1``'s extra fields and
the MCP tool's result; ``Answer.marked`` is the text a reader is shown, each unbacked sentence marked.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from .answerability import REASONS, Signals
from .citations import marked_text
from .dates import spoken_date
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
    time: str = ""  # what the question asked about time: "", "now", "latest", "period", "history" (when.TimeFrame)
    today: str = ""  # the day "now" was, ISO
    timeline: bool = False  # the answer is a timeline: one dated, quoted event per line, oldest first

    @property
    def as_of(self) -> str:
        """The date of the newest source the answer cites (of any source it read when it cites none), ISO; ''
        when none is dated: what a reader needs to know how current the answer is."""
        cited = [c.date for c in self.citations if c.date] or [p.date for p in self.passages if p.date]
        return max(cited, key=date_key) if cited else ""

    @property
    def why(self) -> str:
        """Why it refused, in one sentence: the specific reason, or the rule's general one."""
        return self.reason or REASONS.get(self.refused_by, "")

    @property
    def marked(self) -> str:
        """The answer as a reader is shown it: each sentence the checks do not back marked as not found (a
        timeline's lines are quotes of what they cite, shown as they are)."""
        return self.answer if self.refused or self.timeline or not self.claims else marked_text(self.claims)

    @property
    def as_of_line(self) -> str:
        """How current the answer is, in one sentence ('' for an undated one or a refusal): the newest source it
        rests on, and today's date when the question asked about now.

        ``'As of 19 June 2023 (the newest source it cites; today is 7 December 2026).'``
        """
        if self.refused or not self.as_of:
            return ""
        today = f"; today is {spoken_date(self.today)}" if self.time in ("now", "latest") and self.today else ""
        return f"As of {spoken_date(self.as_of)} (the newest source it cites{today})."

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
            "as_of": self.as_of, "as_of_line": self.as_of_line, "today": self.today, "time": self.time,
            "timeline": self.timeline,
            "signals": asdict(self.signals) if self.signals else None, "marked": inert(self.marked),
            "sentences": [{"text": inert(c.text), "cited": c.cited, "supported": bool(c.grounded),
                           "check": c.best_check(), "unheld": c.unheld} for c in self.claims] if not self.refused else [],
            "sources": [{"n": n, "title": inert(p.title), "source": inert(p.source), "date": p.date, "chunk_id": p.chunk_id,
                         "similarity": p.similarity} for n, p in enumerate(self.passages, 1)],
        }


def date_key(iso: str) -> str:
    """An ISO date as compared with others of other precisions: ``date_key('2023-06') -> '2023-06-99'`` (a month
    is later than its days: it may end after them), ``'2023' -> '2023-99-99'``."""
    return (iso + "-99-99")[:10] if len(iso) < 10 else iso


def make_citation(n: int, passage: Passage, supported: bool, highlights: list[tuple[int, int]]) -> Citation:
    return Citation(n, passage.doc_id, passage.title, passage.source, passage.chunk_id, passage.text,
                    passage.start, passage.end, supported, highlights, passage.date)

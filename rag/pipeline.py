"""The one answer path shared by the CLI, the chat, the evaluation and the benchmark.

question → (standalone rewrite) → retrieve → fit to the window → stream from the model →
check citations → Answer.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Sequence

from .answerability import confidence, missing_numbers
from .citations import check_claims, clean_markers, highlight_spans, is_refusal, split_claims
from .context import select_sentences
from .documents import normalize_text
from .errors import IndexEmptyError, QuestionError, RagError, SettingsError
from .generation import Generator, Slots, build_messages, check_messages, load_prompts, pack_context, rewrite_messages
from .index import Index, IngestReport
from .models import resolve_model
from .safety import without_instructions
from .retrieval import Passage, Retriever
from .settings import Settings
from .text import stands_alone

PROMPT_RESERVE = 64  # tokens for chat-template markup around the messages
MIN_SOURCE_TOKENS = 64  # less room than this for sources cannot hold one useful passage


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


@dataclass
class Timings:
    retrieve_ms: float = 0.0
    ttft_ms: float = 0.0  # from the question (once it has an answer slot) to the first answer token, retrieval included
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
    refused_by: str = ""  # why: "relevance", "numbers", "model", "confidence", "stated" or "unsupported" (refuse())

    def to_json(self) -> dict:
        """The documented JSON shape of ``rag ask --json``."""
        return {
            "question": self.question, "answer": self.answer, "refused": self.refused,
            "citations": [{k: v for k, v in asdict(c).items() if k != "highlights"} for c in self.citations],
            "timings": {**asdict(self.timings), "tokens_per_s": round(self.timings.tokens_per_s, 2)},
            "model": self.model,
            "standalone_question": self.standalone_question or self.question,
            "withheld": self.withheld, "confidence": self.confidence, "stated": self.stated,
            "refused_by": self.refused_by,
            "sources": [{"n": n, "title": p.title, "source": p.source, "chunk_id": p.chunk_id,
                         "similarity": p.similarity} for n, p in enumerate(self.passages, 1)],
        }


def check_question(question: str, limit: int) -> str:
    """The question, cleaned; empty or over-long questions are refused, never cut.

    ``check_question('  Why?\\x07 ', 100) -> 'Why?'``
    """
    cleaned = normalize_text(question or "")
    if not cleaned:
        raise QuestionError("Please type a question.")
    if len(cleaned) > limit:
        raise QuestionError(f"The question is {len(cleaned):,} characters long; the limit is {limit:,}. "
                            "Please shorten it (it was not cut).")
    return cleaned


class Assistant:
    """Everything loaded once: index, embedder, retriever, prompts and model."""

    def __init__(self, settings: Optional[Settings] = None, *, llm=None, embedder=None, progress=None):
        self.settings = settings or Settings.load()
        self.prompts = load_prompts(self.settings.prompts)
        self.generator = make_generator(self.settings, llm, progress)  # first: a wrong model URL fails in a second
        if self.settings.llm_url and llm is None:  # the server's window, not the in-process model's, bounds the prompt
            self.settings = self.settings.model_copy(update={"n_ctx": self.generator.n_ctx})
        self.index = Index(self.settings, embedder)
        self.index.turn = self.generator.lock  # a long ingest lets a question in between two batches
        self.retriever = Retriever(self.index)
        self.slots = Slots(self.generator.slots)  # answers at once: the server's slots, or one in-process
        if self.settings.warm_start:
            self.generator.warm(self.prompts.system, self.settings.home / "cache")

    def ingest(self, paths: Optional[Sequence[Path]] = None, progress=None, rebuild: bool = False) -> IngestReport:
        """Index the corpus (or the given paths); rebuild starts from an empty index."""
        if rebuild:
            self.index.reset()
        return self.index.ingest(list(paths) if paths else None, progress)

    def with_overrides(self, overrides: dict) -> Settings:
        """Settings for one question (top-k, temperature, …), validated like any other."""
        values = {k: v for k, v in overrides.items() if v is not None}
        if not values:
            return self.settings
        try:
            return Settings(**{**self.settings.model_dump(), **values})
        except Exception as exc:
            raise SettingsError(f"Invalid setting: {exc}") from None

    def ask(self, question: str, history: Sequence[tuple[str, str]] = (), **overrides) -> Answer:
        """Answer a question and return the finished Answer."""
        for event in self.stream(question, history, **overrides):
            if isinstance(event, Answer):
                return event
        raise RagError("The answer stream ended without an answer.")

    def stream(self, question: str, history: Sequence[tuple[str, str]] = (), sources_first: bool = False,
               **overrides) -> Iterator:
        """Yield text pieces as the model writes them, then the checked Answer; up to ``slots.n`` at once, in the
        order asked (a question waits for a slot, retrieval included, so the shared parts see at most n callers).

        With sources_first, a Retrieved comes first, as soon as retrieval ends (before the model reads).

        Raises:
            QuestionError, IndexEmptyError, RagError: shown to the user as they are.
        """
        with self.slots:
            yield from self.answer_stream(question, history, sources_first, **overrides)

    def answer_stream(self, question: str, history: Sequence[tuple[str, str]] = (), sources_first: bool = False,
                      **overrides) -> Iterator:
        """The answer path of stream(), without waiting for a slot."""
        settings = self.with_overrides(overrides)
        started = time.perf_counter()
        question = check_question(question, settings.max_question_chars)
        standalone = self.standalone(question, history, settings.rewrite)
        if self.index.count() == 0:
            raise IndexEmptyError("The index is empty: add articles to the corpus folder and run "
                                  "`python -m rag ingest` (or upload them in the Documents tab).")
        budget = context_budget(settings, self.static_tokens() + self.generator.count(standalone))
        ranked = self.retriever.search(standalone, settings.top_k, settings.candidates, settings.retrieval)
        passages = pack_context(without_instructions(ranked), self.generator.count, budget)
        if settings.context_mode == "sentences":  # no sentence sharing a word with the question: whole passages
            passages = select_sentences(standalone, passages, self.generator.count,
                                        min(settings.sentence_tokens, budget)) or passages
        timings = Timings(retrieve_ms=ms_since(started))
        reason = refusal_before_asking(standalone, passages, settings)
        if reason:
            timings.total_ms = ms_since(started)
            yield self.refuse(question, standalone, ranked if reason == "relevance" else passages, timings, reason)
            return
        if sources_first:
            yield Retrieved(passages, standalone, timings.retrieve_ms)
        messages = build_messages(self.prompts, passages, standalone, settings.show_titles)
        timings.prompt_tokens = sum(self.generator.count(m["content"]) for m in messages)
        pieces, tokens = [], []
        for piece in self.generator.stream(messages, settings.max_tokens, settings.temperature, logprobs=tokens):
            if not pieces:
                timings.ttft_ms = ms_since(started)
            pieces.append(piece)
            yield piece
        text = "".join(pieces).strip()
        asks = settings.min_stated and not is_refusal(text, self.prompts.refusal)  # the check costs ~30 prompt tokens
        stated = self.generator.yes_probability(check_messages(self.prompts, messages)) if asks else None
        timings.total_ms = ms_since(started)
        timings.completion_tokens = self.generator.count(text)
        yield self.finish(question, standalone, text, passages, timings, settings, confidence(tokens), stated)

    def standalone(self, question: str, history: Sequence[tuple[str, str]], rewrite: str = "auto") -> str:
        """A follow-up rewritten with the conversation into a question that stands alone (with rewrite='auto',
        only one that points back into the conversation: a model call costs about 2 s here)."""
        if not history or (rewrite == "auto" and stands_alone(question)):
            return question
        rewritten = self.generator.complete(rewrite_messages(self.prompts, history, question), 64)
        rewritten = normalize_text(rewritten.splitlines()[0] if rewritten else "")
        return rewritten if 3 <= len(rewritten) <= 4 * len(question) + 200 else question

    def static_tokens(self) -> int:
        """Tokens of the system prompt and the answer template without sources."""
        if not hasattr(self, "_static_tokens"):
            self._static_tokens = self.generator.count(self.prompts.system + self.prompts.answer)
        return self._static_tokens

    def refuse(self, question: str, standalone: str, passages: list[Passage], timings: Timings, reason: str,
               withheld: str = "", claims: Sequence = (), score: Optional[float] = None,
               stated: Optional[float] = None) -> Answer:
        """The refusal sentence, with the passages it looked at, why it refused and what it withheld."""
        return Answer(question, self.prompts.refusal, True, [], passages, list(claims), timings, self.generator.name,
                      standalone, withheld=withheld, confidence=score, stated=stated, refused_by=reason)

    def finish(self, question: str, standalone: str, text: str, passages: list[Passage], timings: Timings,
               settings: Optional[Settings] = None, score: Optional[float] = None,
               stated: Optional[float] = None) -> Answer:
        """Check the raw answer: refusal, the model's confidence, valid markers, support of each cited passage."""
        settings = settings or self.settings
        if is_refusal(text, self.prompts.refusal):
            withheld = "" if text.strip().rstrip(".") == self.prompts.refusal.rstrip(".") else text
            return self.refuse(question, standalone, passages, timings, "model", withheld, score=score, stated=stated)
        if score is not None and score < settings.min_confidence:
            return self.refuse(question, standalone, passages, timings, "confidence", text, score=score, stated=stated)
        if stated is not None and stated < settings.min_stated:
            return self.refuse(question, standalone, passages, timings, "stated", text, score=score, stated=stated)
        text = clean_markers(text, set(range(1, len(passages) + 1)))
        claims = split_claims(text)
        texts = [p.text for p in passages]
        similarity = self.similarity
        check_claims(claims, texts, settings.support_threshold, similarity)
        if settings.refuse_unsupported and not any(claim.supported for claim in claims):
            return self.refuse(question, standalone, passages, timings, "unsupported", text, claims, score)
        cited = sorted({n for claim in claims for n in claim.cited})
        citations = [make_citation(n, passages[n - 1], any(n in c.supported for c in claims),
                                   highlight_spans(claims, n, texts[n - 1], similarity)) for n in cited]
        return Answer(question, text, False, citations, passages, claims, timings, self.generator.name, standalone,
                      confidence=score, stated=stated)

    def similarity(self, sentence: str, others: Sequence[str]) -> list[float]:
        """Cosine similarity of one sentence to each of others, with the index's embedder."""
        from .embeddings import similarity

        return similarity(self.index.embedder, sentence, list(others))


def make_generator(settings: Settings, llm=None, progress=None):
    """The model server at RAG_LLM_URL, or else the in-process model (a caller's llm= always wins: tests share one).

    With a server, no model file is looked for, prepared or loaded.
    """
    if settings.llm_url and llm is None:
        from .remote import RemoteGenerator

        return RemoteGenerator(settings)
    return Generator(settings, resolve_model(settings, progress), llm)


def make_citation(n: int, passage: Passage, supported: bool, highlights: list[tuple[int, int]]) -> Citation:
    return Citation(n, passage.doc_id, passage.title, passage.source, passage.chunk_id, passage.text,
                    passage.start, passage.end, supported, highlights)


def context_budget(settings: Settings, fixed_tokens: int) -> int:
    """Tokens left for sources once the answer, the prompts, the question (fixed_tokens) and markup are counted.

    ``context_budget(Settings(n_ctx=4096, max_tokens=256, context_tokens=1200), 300) -> 1200``;
    ``context_budget(Settings(n_ctx=4096, max_tokens=256, context_tokens=100000), 3000) -> 776``
    (4096 - 256 - 3000 - 64).

    Raises:
        QuestionError: the question leaves no room for sources in the model's window.
    """
    room = settings.n_ctx - settings.max_tokens - fixed_tokens - PROMPT_RESERVE
    if room < MIN_SOURCE_TOKENS:
        raise QuestionError(f"The question is too long for the model's {settings.n_ctx:,}-token window "
                            "(with room for sources and the answer); please shorten it.")
    return min(settings.context_tokens, room)


def refusal_before_asking(question: str, passages: Sequence[Passage], settings: Settings) -> str:
    """Why to refuse without asking the model, or "": no passage, none close enough, or a number of the
    question that no source names (answerability.missing_numbers)."""
    if not passages or not relevant_enough(passages, settings.min_relevance):
        return "relevance"
    if settings.refuse_missing_numbers and missing_numbers(question, [f"{p.title} {p.text}" for p in passages]):
        return "numbers"
    return ""


def relevant_enough(passages: Sequence[Passage], floor: float) -> bool:
    """True when a passage reached the floor by dense similarity, or when dense search judged none of them.

    A BM25-only passage (similarity None) has no cosine and is not judged: it neither passes nor fails
    the question. It cannot rescue a question either: in hybrid mode it was left out of dense search's
    candidates, so its cosine is no higher than theirs, all below the floor. When no passage has a
    similarity (BM25 mode), the model is asked and may refuse by itself.
    ``relevant_enough([sim(0.05), sim(0.4)], 0.1) -> True``; ``relevant_enough([sim(0.05), bm25()], 0.1) -> False``;
    ``relevant_enough([bm25(), bm25()], 0.1) -> True``; ``relevant_enough([], 0.1) -> True``.
    """
    sims = [p.similarity for p in passages if p.similarity is not None]
    return not sims or max(sims) >= floor


def ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

"""The one answer path shared by the CLI, the chat, the evaluation and the benchmark.

question → (standalone rewrite) → its time (when.py) → retrieve, ordered by that time → fit to the window →
stream from the model → check (checks.py) → Answer; "how did X change?" → a timeline of quotes (timeline.py).
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from contextlib import closing
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Iterator, Optional, Sequence

from . import catalog
from .answer import Answer, Citation, Retrieved, Timings, make_citation  # noqa: F401  (the faces import them from here)
from .answerability import confidence, refusal_before_asking
from .checks import Checks
from .citations import is_refusal
from .context import select_sentences
from .documents import normalize_text
from .errors import IndexEmptyError, QuestionError, RagError, SettingsError
from .generation import (Generator, Slots, as_asked, build_messages, check_messages, load_prompts, pack_context,
                         rewrite_messages)
from .index import Index, IngestReport
from .models import resolve_model
from .safety import without_instructions
from .retrieval import Passage, Retriever
from .settings import Settings
from .text import points_back_to, stands_alone
from .timeline import events, latest, timeline_answer
from .chronology import Candidates, about, day_reported, lead, order, subject, written_by_then
from .when import TimeFrame, event_anchor, placed_by_event, read_question

PROMPT_RESERVE = 64  # tokens for chat-template markup around the messages
MIN_SOURCE_TOKENS = 64  # less room than this for sources cannot hold one useful passage


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


class Assistant(Checks):
    """Everything loaded once: index, embedder, retriever, prompts and model."""

    def __init__(self, settings: Optional[Settings] = None, *, llm=None, embedder=None, progress=None):
        self.settings = settings or Settings.load()
        self.prompts = load_prompts(self.settings.prompts)
        self.generator = make_generator(self.settings, llm, progress)  # first: a wrong model URL fails in a second
        if self.settings.llm_url and llm is None:  # the server's window, not the in-process model's, bounds the prompt
            self.settings = self.settings.model_copy(update={"n_ctx": self.generator.n_ctx})
        self.index = Index(self.settings, embedder)
        if isinstance(self.generator, Generator):  # a long ingest lets a question in between two batches
            self.index.turn = self.generator.lock  # (a model server schedules its own; nothing to share)
        self.retriever = Retriever(self.index)
        self.slots = Slots(self.generator.slots)  # answers at once: the server's slots, or one in-process
        if self.settings.warm_start:
            self.generator.warm(self.prompts.system, self.settings.home / "cache")
        self.root, self.views, self.views_lock = self, {}, threading.Lock()  # the other collections (in_collection)
        self.sweep()

    def in_collection(self, name: Optional[str] = None, create: bool = False) -> "Assistant":
        """This assistant over the named collection (rag/catalog.py): the same model, embedder, prompts and slots,
        that collection's corpus and index. No name (or the default's) is the assistant it was made as.

        With create, a name no collection has yet makes a new, empty one. Raises catalog.CollectionError.
        ``assistant.in_collection('Tour de France').ask('Who won in 2019?')`` cites only that collection.
        """
        root = self.root
        found, _ = catalog.find_or_create(root.settings, name, create)
        if found.default:
            return root
        with root.views_lock:
            view = root.views.get(found.index)
            if view is None:
                view = copy.copy(root)
                view.settings = found.settings(root.settings)
                view.index = Index(view.settings, root.index.embedder)
                view.index.turn = root.index.turn
                view.retriever = Retriever(view.index)
                root.views[found.index] = view
        return view

    def delete_collection(self, name: str) -> Path:
        """Delete a collection (never the default): its index is dropped, its folder kept in collections/.deleted/."""
        root = self.root
        found = catalog.find(root.settings, name)
        with root.views_lock:
            root.views.pop(found.index, None)
        return catalog.delete(root.settings, found.name, root.index.client)

    def sweep(self) -> None:
        """Drop what a killed collection delete left behind: the index of a collection no longer listed (embedded
        index only: on a Chroma server another team's process may keep collections this one does not list)."""
        if self.settings.chroma_host:
            return
        try:
            dropped = catalog.sweep(self.settings, self.index.client)
        except Exception as exc:  # a server index that refuses: the collections still work
            logging.getLogger("rag").warning("Could not check the index for deleted collections (%s).", exc)
            return
        if dropped:
            logging.getLogger("rag").info("Dropped the index of deleted collections: %s", ", ".join(dropped))

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
        frame, pool = self.frame(standalone, settings), Candidates()
        ranked, passages = self.retrieve(standalone, settings, frame, pool)
        timings = Timings(retrieve_ms=ms_since(started))
        timed = dict(time=frame.kind, today=frame.today)
        if frame.kind in ("history", "latest"):
            found = (events(standalone, pool.passages, pool.on_subject, settings.timeline_events)
                     if frame.kind == "history" else latest(pool.passages, pool.on_subject))
            if len(found) >= (2 if frame.kind == "history" else 1):  # else the model answers from the passages
                timings.total_ms = ms_since(started)
                yield timeline_answer(question, standalone, found, timings, self.generator.name, **timed)
                return
        reason, why = refusal_before_asking(standalone, passages, settings, frame, pool.passages, pool.on_subject,
                                           self.retriever.common())
        if reason:
            timings.total_ms = ms_since(started)
            shown = ranked if reason == "relevance" else passages
            yield replace(self.refuse(question, standalone, shown, timings, reason, why=why), **timed)
            return
        if sources_first:
            yield Retrieved(passages, standalone, timings.retrieve_ms)
        asked = as_asked(self.prompts, question, standalone, settings.rewrite)
        messages = build_messages(self.prompts, passages, asked, settings.show_titles, frame if settings.time_aware else None)
        timings.prompt_tokens = sum(self.generator.count(m["content"]) for m in messages)
        pieces, tokens = [], []
        with closing(self.generator.stream(messages, settings.max_tokens, settings.temperature, logprobs=tokens)) as stream:
            for piece in stream:  # closing this generator closes the model's at once, releasing its lock
                if not pieces:
                    timings.ttft_ms = ms_since(started)
                pieces.append(piece)
                yield piece
        text = "".join(pieces).strip()
        written = ms_since(started)
        asks = settings.min_stated and not is_refusal(text, self.prompts.refusal)  # the check costs ~30 prompt tokens
        stated = self.generator.yes_probability(check_messages(self.prompts, messages)) if asks else None
        timings.completion_tokens = self.generator.count(text)
        answer = self.finish(question, standalone, text, passages, timings, settings, confidence(tokens), stated,
                             messages, frame)
        timings.total_ms = ms_since(started)
        timings.check_ms = round(timings.total_ms - written, 1)
        yield replace(answer, **timed)

    def frame(self, standalone: str, settings: Settings) -> TimeFrame:
        """What the question says about time (when.read_question), as of the today setting or the clock; an empty
        frame when time_aware is off."""
        if not settings.time_aware:
            return TimeFrame()
        frame = read_question(standalone, settings.today or date.today())
        relation, event = event_anchor(standalone) if not frame.kind else ("", "")
        if relation:  # "before Tomas Brandt arrived": the day of the article that reports it, among those found
            found: list[Passage] = []
            self.retriever.search(standalone, settings.top_k, settings.candidates, settings.retrieval,
                                  settings.prefer_numbers, lambda candidates: found.extend(candidates) or candidates)
            texts = self.articles({p.doc_id for p in found})
            dates = {p.doc_id: p.date for p in found}
            day = day_reported(event, [(dates[doc], text) for doc, text in texts.items()])
            frame = placed_by_event(frame, relation, event, day) if day else frame
        return frame

    def retrieve(self, standalone: str, settings: Settings, frame: Optional[TimeFrame] = None,
                 pool: Optional[Candidates] = None) -> tuple[list[Passage], list[Passage]]:
        """The passages retrieval ranked, and the sources the model reads: fitted to the window, instructions cut
        out, and in sentences mode only the sentences that matter (evaluation.retrieval scores these without a model).
        Candidates are ordered by the question's time (when.order) before the best are taken; pool, when given,
        receives them all in that order (the time rules and timelines read more than the top-k)."""
        frame = self.frame(standalone, settings) if frame is None else frame
        budget = context_budget(settings, self.static_tokens() + self.generator.count(standalone))
        wanted = subject(standalone, frame) if frame.kind else []

        def arrange(candidates: list[Passage]) -> list[Passage]:
            texts = self.articles({p.doc_id for p in candidates}) if wanted else None
            on_subject = about(wanted, texts)
            arranged = order(candidates, frame, on_subject)
            if pool is not None:  # the time rules read them all (a later article brackets a period)
                pool.passages, pool.on_subject = arranged, on_subject
            leading = about(wanted, {doc: lead(text) for doc, text in texts.items()}) if texts else on_subject
            return written_by_then(arranged, frame, on_subject, leading)

        ranked = self.retriever.search(standalone, settings.top_k, settings.candidates, settings.retrieval,
                                       settings.prefer_numbers, arrange)
        passages = pack_context(without_instructions(ranked), self.generator.count, budget)
        if settings.context_mode == "sentences":  # no sentence sharing a word with the question: whole passages
            passages = select_sentences(standalone, passages, self.generator.count,
                                        min(settings.sentence_tokens, budget), spread=across_time(passages, frame)) or passages
        return ranked, passages

    def articles(self, doc_ids: set[str]) -> dict[str, str]:
        """The title and whole text of each article (its chunks joined in order), by doc_id: what a question's subject
        is looked for in (an article names its subject in its first paragraph, not in every chunk)."""
        if not doc_ids:
            return {}
        got = self.index.guard(self.index.collection.get, where={"doc_id": {"$in": sorted(doc_ids)}},
                               include=["documents", "metadatas"])
        chunks: dict[str, list[tuple[int, str]]] = {}
        titles: dict[str, str] = {}
        for text, meta in zip(got["documents"], got["metadatas"]):
            chunks.setdefault(meta["doc_id"], []).append((meta.get("start", 0), text))
            titles[meta["doc_id"]] = meta.get("title", "")
        return {doc_id: "\n".join([titles[doc_id], *(text for _, text in sorted(parts))])
                for doc_id, parts in chunks.items()}

    def standalone(self, question: str, history: Sequence[tuple[str, str]], rewrite: str = "context") -> str:
        """What retrieval searches for a follow-up. One that stands alone is searched as it is (unless
        rewrite='always'); one that points back is searched together with the earlier questions it leans on
        (rewrite='context': no model call), or rewritten by the model into a standalone question ('auto',
        'always': a model call, about 2 s here)."""
        if not history or (rewrite != "always" and stands_alone(question)):
            return question
        if rewrite == "context":
            return " ".join([*points_back_to([asked for asked, _ in history]), question])
        rewritten = self.generator.complete(rewrite_messages(self.prompts, history, question), 64)
        rewritten = normalize_text(rewritten.splitlines()[0] if rewritten else "")
        return rewritten if 3 <= len(rewritten) <= 4 * len(question) + 200 else question

    def static_tokens(self) -> int:
        """Tokens of the system prompt and the answer template without sources."""
        if not hasattr(self, "_static_tokens"):
            self._static_tokens = self.generator.count(self.prompts.system + self.prompts.answer + self.prompts.dated)
        return self._static_tokens


def make_generator(settings: Settings, llm=None, progress=None):
    """The model server at RAG_LLM_URL, or else the in-process model (a caller's llm= always wins: tests share one).

    With a server, no model file is looked for, prepared or loaded.
    """
    if settings.llm_url and llm is None:
        from .remote import RemoteGenerator

        return RemoteGenerator(settings)
    return Generator(settings, resolve_model(settings, progress), llm)


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


def across_time(passages: Sequence[Passage], frame: TimeFrame) -> bool:
    """Whether the answer is read across articles of several dates: the question has a time (when.read_question;
    present tense is "now") and the passages more than one date. Then the sentence choice keeps each best sentence
    before any neighbour (context.choose's spread). ``across_time([p('2019'), p('2023')], TimeFrame('now')) -> True``;
    one article, or no time: False."""
    return bool(frame.kind) and len({p.date for p in passages if p.date}) > 1


def ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

"""Generation: prompts from files, the passages fitted to the window, and a streaming local model.

The system prompt is static and comes first, so llama.cpp reuses its cached state from one
question to the next and only reads the new sources and question.
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from .citations import grounded_history
from .cpu import safe_model_params
from .concurrency import FairLock, Slots  # noqa: F401  (Slots: the pipeline takes it from here)
from .dates import heading, shown_date, spoken_date, without_filing_day
from .errors import ModelError, QuestionError, RagError
from .retrieval import Passage
from .safety import neutralise_markers
from .settings import Settings
from .relative import annotate
from .when import TimeFrame, period_words
from .kvcache import (load_prompt_state, prompt_snapshot, read_static_prefix, record_sampled_logprobs,
                      restore_prompt_state, save_prompt_state, yes_probability)
from .text import LANGUAGES, language, strip_markers

log = logging.getLogger("rag.generation")
PROMPT_FILES = ("system", "answer", "source", "refusal", "rewrite", "followup", "check", "claim", "dated", "now", "period",
                "language", "newer", "translate")


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: str
    source: str
    refusal: str
    rewrite: str
    followup: str  # a follow-up as the model reads it with rewrite='context': the question, then what it follows
    check: str
    claim: str
    dated: str  # how to read a source's date; said only when a source shows one, so undated prompts are as before
    now: str  # said when the question asks about the present or the latest ({today})
    period: str  # said when it asks about a time of its own ({period})
    language: str  # said when the question is not in English: answer in its language ({language})
    newer: str  # does newer source [{n}] ({date}) say that {claim} is no longer so? (checks.check_outdated)
    translate: str  # a cited passage ({text}) from {source} into {language}, on demand (translation.py)


def load_prompts(folder: Path) -> Prompts:
    """Read every template from the prompts folder, failing with the missing file's name."""
    texts = {}
    for name in PROMPT_FILES:
        path = Path(folder) / f"{name}.txt"
        try:
            texts[name] = path.read_text(encoding="utf-8").strip()
        except OSError:
            raise RagError(f"Prompt template missing: {path}. Restore it from the repository.") from None
    texts["system"] = texts["system"].replace("{refusal}", texts["refusal"])
    return Prompts(**texts)


def pack_context(passages: Sequence[Passage], count: Callable[[str], int], budget: int) -> list[Passage]:
    """Passages in rank order that fit in budget tokens; one too long is skipped, later ones may fit.

    ``pack_context([p(30 tokens), p(80), p(20)], count, 60) -> [p(30), p(20)]``
    """
    chosen, used = [], 0
    for passage in passages:
        cost = count(passage.text) + count(passage.title) + count(spoken_date(passage.date)) + 4
        if used + cost <= budget:
            chosen.append(passage)
            used += cost
    return chosen


def build_messages(prompts: Prompts, passages: Sequence[Passage], question: str, titles: bool = True,
                   frame: Optional[TimeFrame] = None) -> list[dict]:
    """Chat messages: the static system prompt, then the numbered sources (heading and text, relative dates
    resolved beside their words: relative.annotate) and the question; when a source shows its date, the dated
    prompt first says how to read relative dates against it, and when the question asks about now or a time of
    its own (frame), the now or period prompt says so.

    Passages come here already without instruction-like sentences (safety.without_instructions);
    citation look-alikes in them are neutralised.
    """
    shown = [heading(shown_title(p) if titles else "", shown_date(p)) for p in passages]
    sources = "\n\n".join(
        prompts.source.format(n=n, title=title if title != previous else "",
                              text=neutralise_markers(shown_text(p, frame is not None)))
        .replace(" \n", "\n").strip()  # a title is shown once for consecutive sources of one article
        for n, (p, title, previous) in enumerate(zip(passages, shown, ["", *shown]), 1))
    user = prompts.answer.format(sources=sources or "(no sources)", question=question)
    if any(shown_date(p) for p in passages):
        user = f"{prompts.dated}\n{user}"
    if frame is not None and frame.kind in ("now", "latest") and any(p.date for p in passages):
        user = f"{prompts.now.format(today=spoken_date(frame.today))}\n{user}"
    elif frame is not None and frame.kind == "period":
        user = f"{prompts.period.format(period=period_words(frame))}\n{user}"
    if language(question) != "en":
        user = f"{prompts.language.format(language=LANGUAGES[language(question)])}\n{user}"
    return [{"role": "system", "content": prompts.system}, {"role": "user", "content": user}]


def shown_text(passage: Passage, dated: bool) -> str:
    """A source's text as the model reads it: with its heading's date, its dateline keeps only the place (the day
    is the heading's), and, when time matters (dated), each relative date has its date beside it.

    ``shown_text(Passage(date='2018-09-12', text='DUNMORE, Sept 12 - It met on Tuesday.', …), True)
    -> 'DUNMORE - It met on Tuesday, 11 September 2018.'``
    """
    text = without_filing_day(passage.text, passage.date) if shown_date(passage) else passage.text
    return annotate(text, passage.date) if dated else text


def shown_title(passage: Passage) -> str:
    """The article's title as the model sees it; none when it is only the file's name (``p0001``).

    For news the title often carries the entity and date a question hinges on.
    ``shown_title(Passage(title='p0001', source='p0001.txt', …)) -> ''``
    """
    title = neutralise_markers(passage.title.strip())
    return "" if title == Path(passage.source).stem else title



def check_messages(prompts: Prompts, messages: list[dict]) -> list[dict]:
    """The answer's messages with the answer instruction (the user turn's last line) replaced by the yes/no
    check, so both share the system prompt, the sources and the question in the model's cache."""
    return with_last_line(messages, prompts.check)


def with_last_line(messages: list[dict], line: str) -> list[dict]:
    """The messages with the last line of the last one replaced by line.

    ``with_last_line([{'role': 'user', 'content': 'Q: x\\nAnswer:'}], 'Yes?') -> [{'role': 'user', 'content': 'Q: x\\nYes?'}]``
    """
    lines = messages[-1]["content"].rstrip().split("\n")
    return [*messages[:-1], {**messages[-1], "content": "\n".join([*lines[:-1], line])}]


def claim_messages(prompts: Prompts, messages: list[dict], claim: str, n: int) -> list[dict]:
    """The answer's messages with the answer instruction replaced by "does source [n] state this sentence?":
    the model reads only this last part past its cached sources."""
    return with_last_line(messages, prompts.claim.format(claim=strip_markers(claim), n=n))


def as_asked(prompts: Prompts, question: str, standalone: str, rewrite: str) -> str:
    """The question as the model reads it: a follow-up searched with its conversation (rewrite='context': the
    earlier questions it leans on, then itself, as Assistant.standalone joins them) is shown with those earlier
    questions after it; any other, as it was searched.

    ``as_asked(prompts, 'Which company does he lead?', 'Who is Sam Altman? Which company does he lead?', 'context')
    -> 'Which company does he lead? (This follows the earlier question: Who is Sam Altman?)'``
    """
    if rewrite != "context" or standalone == question:
        return standalone
    return prompts.followup.format(question=question, earlier=standalone.removesuffix(question).strip())


def rewrite_messages(prompts: Prompts, history: Sequence[tuple[str, str]], question: str) -> list[dict]:
    """Messages asking the model to turn a follow-up into a standalone question."""
    lines = []
    for asked, answered in history[-3:]:  # "Question/Answer", not "User/Assistant": "he" must not become the assistant
        facts = grounded_history(answered, prompts.refusal)  # a refusal or an unbacked sentence is no fact
        lines += [f"Question: {asked[:600]}", f"Answer: {strip_markers(facts)[:600] or '(not answered)'}"]  # bounded
    return [{"role": "user", "content": prompts.rewrite.format(history="\n".join(lines), question=question)}]


class Generator:
    """A llama.cpp model loaded once; calls are serialised because a Llama object is not thread-safe."""

    slots = 1  # answers at once: one Llama object answers one question at a time

    def __init__(self, settings: Settings, model_path: Path, llm=None):
        self.settings = settings
        self.path = Path(model_path)
        self.lock = FairLock()  # the ingest takes turns on it too, one batch of chunks at a time
        self.owns_model = llm is None  # a caller's model (tests share one) keeps whatever its cache holds
        self.llm = llm or load_llama(settings, self.path)
        self.static_state: Optional[tuple] = None  # the system prompt's cached state, once warm() has read it

    @property
    def name(self) -> str:
        return self.path.name

    def describe(self) -> dict:
        """Model name, quantization and context size, for the UI and reports."""
        meta = getattr(self.llm, "metadata", {}) or {}
        return {"name": meta.get("general.name", self.path.stem), "file": self.path.name,
                "quantization": quantization_of(self.path.name), "n_ctx": self.llm.n_ctx(),
                "threads": threads(self.settings.n_threads), "threads_batch": threads(self.settings.n_threads_batch or self.settings.n_threads)}

    def count(self, text: str) -> int:
        """Tokens the model itself sees for text."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[dict], max_tokens: int, temperature: float,
               logprobs: Optional[list] = None) -> Iterator[str]:
        """Text pieces of the model's reply as they are produced; when logprobs is a list, it receives
        (token text, log probability) of every sampled token. The model is held until the generator ends or is
        closed (a caller that stops reading must close it), and never longer than max_answer_s."""
        with self.lock:
            deadline = time.monotonic() + self.settings.max_answer_s  # counted once the model is ours
            tokens: Optional[list] = [] if logprobs is not None else None
            if tokens is not None:
                record_sampled_logprobs(self.llm)
                self.llm.rag_logprobs = tokens
            try:
                chunks = self.llm.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=temperature, top_p=0.95,
                    seed=self.settings.seed, stream=True)
                with closing(chunks):  # closed under the lock: llama.cpp's generator must not outlive it
                    for chunk in chunks:
                        piece = chunk["choices"][0]["delta"].get("content")
                        if piece:
                            yield piece
                        if time.monotonic() > deadline:
                            log.warning("An answer reached max_answer_s (%g s) and was stopped there.",
                                        self.settings.max_answer_s)
                            break
            except ValueError as exc:  # llama-cpp-python raises ValueError when the prompt exceeds the window
                raise QuestionError(f"The model could not take this prompt ({exc}). Try a shorter question or "
                                    "history, or lower top-k.") from None
            finally:
                if tokens is not None:
                    self.llm.rag_logprobs = None
                    logprobs += [(self.llm.detokenize([t]).decode("utf-8", "replace"), lp) for t, lp in tokens]

    def complete(self, messages: list[dict], max_tokens: int) -> str:
        """The whole reply at temperature 0 (the follow-up rewrite). Its prompt shares nothing with the answer's,
        so the system prompt's cached state is put back after it: the answer then reads only its own part."""
        text = "".join(self.stream(messages, max_tokens, 0.0)).strip()
        if self.static_state is not None:
            with self.lock:
                restore_prompt_state(self.llm, self.static_state, self.settings.seed)
        return text

    def yes_probability(self, messages: list[dict]) -> float:
        """P(yes) / (P(yes) + P(no)) of the first token of the reply to messages (a yes/no question).

        Reads only what is not already in the model's cache: after the answer prompt's shared prefix
        (system prompt, sources, question), a few tokens.
        """
        with self.lock:
            return yes_probability(self.llm, messages)

    def warm(self, system: str, cache_dir: Optional[Path] = None) -> str:
        """Read the static system prompt into the model's cache now, so the first question reads only its own part.

        The state (about 5 MB) is kept in cache_dir, keyed by model, llama.cpp build, context settings and
        prompt, so a later start-up loads it instead of reading the prompt again. Returns 'disk', 'read' or
        'skipped' (a model the caller loaded keeps its own cache).
        """
        if not self.owns_model:
            return "skipped"
        path = Path(cache_dir) / f"prompt-{self.state_key(system)}.npz" if cache_dir else None
        with self.lock:
            if path and path.is_file() and load_prompt_state(self.llm, path, self.settings.seed):
                self.static_state = prompt_snapshot(self.llm)
                return "disk"
            read_static_prefix(self.llm, system)
            self.static_state = prompt_snapshot(self.llm)
            if path:
                save_prompt_state(self.llm, path)
        return "read"

    def state_key(self, system: str) -> str:
        """Hex digest of everything a saved prompt state depends on."""
        import hashlib

        import llama_cpp

        stat = self.path.stat()
        s = self.settings
        parts = (self.path.name, stat.st_size, stat.st_mtime_ns, llama_cpp.__version__, s.n_ctx, s.n_batch,
                 s.flash_attn, s.n_gpu_layers, system)
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def threads(setting: int) -> int:
    """llama.cpp threads for a setting; 0 means every core this process may use.

    With OMP_WAIT_POLICY=PASSIVE (rag/__init__.py) all cores are fastest on a quiet machine: 2 threads
    on 2 cores gave the first token in 2.6 s against 4.8 s for 1 (docs/performance.md).
    ``threads(0) -> 2`` on 2 cores; ``threads(3) -> 3``.
    """
    if setting:
        return setting
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_llama(settings: Settings, path: Path):
    """Load a GGUF with an explicit context window, threads and batch size (without AMX where it faults: rag/cpu.py)."""
    from llama_cpp import Llama

    try:
        with safe_model_params(path):
            return Llama(model_path=str(path), n_ctx=settings.n_ctx, n_threads=threads(settings.n_threads),
                         n_threads_batch=threads(settings.n_threads_batch or settings.n_threads), n_batch=settings.n_batch,
                         n_gpu_layers=settings.n_gpu_layers, flash_attn=settings.flash_attn, seed=settings.seed, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"The model {path.name} failed to load ({exc}). The file may be truncated or corrupt: "
                         "delete it to re-prepare the default, or point --model at a valid GGUF.") from None


def quantization_of(file_name: str) -> str:
    """``quantization_of('qwen-1.5b-q4_k_m.gguf') -> 'Q4_K_M'``; '' when the name does not say."""
    import re

    match = re.search(r"(?i)(i?q\d(?:_[a-z0-9]+)*|f16|bf16|f32|mxfp4)(?=\.gguf$)", file_name)
    return match.group(1).upper() if match else ""

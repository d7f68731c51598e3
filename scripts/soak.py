"""Load and soak test of the chat: ``python scripts/soak.py [--minutes 5] [--sessions 8]`` (``make soak``).

Starts the real app (real model, real index in a temporary data folder) on 127.0.0.1 and runs concurrent
chat sessions through the session-aware ``/chat`` endpoint (the browser's handler and per-session history)
for a bounded time. Each conversation asks a question, then a follow-up carrying a token unique to it;
after every answer the session's history must hold exactly its own questions (no cross-talk). It records
per-request latency and queue wait (submit to first streamed update), errors, and the app's resident
memory (VmRSS) every few seconds, prints a summary, and exits 1 on any error, cross-talk, more answers at
once than the model has slots (one in-process), or memory growth beyond the bound after warm-up.
``--backends in-process,llama_cpp.server,llama-server:1,llama-server:4`` runs the same load against each
model set-up in turn, in one run, and prints them side by side (answers per minute, latency, queue wait).
``tests/test_load.py`` is the short version that ``make test`` runs.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402,F401  first: telemetry off before gradio_client loads
from rag.evaluation.metrics import percentile  # noqa: E402
from rag.web.presentation import user_markdown  # noqa: E402

QUESTIONS = ["Why did OpenAI release gpt-oss?", "What does Sam Altman think about export controls?",
             "Which open-weight models did OpenAI release?", "Who is Sam Altman?",
             "What role did DeepSeek play in the decision?", "How does Altman see the competition from China?"]
TAGGED = "{question} (conversation {token})"  # every question unique to its session and conversation
FOLLOW_UP = "What else does the article say about that?"
MAX_CONVERSATIONS = 1000  # per session; the deadline ends the run long before
POLL_S = 0.02
OVERLAP_TOLERANCE_S = 1.0  # client-side clocks see a request's start and end a few polls late


@dataclass
class ChatOptions:
    """Per-request answer settings sent to /chat, and the longest wait for one request."""
    top_k: int = 2
    temperature: float = 0.0
    max_tokens: int = 64
    timeout_s: float = 600.0  # 8 sessions queue behind one model: up to 7 answers ahead of this one


@dataclass
class Result:
    """One request: who asked what, when it started and ended (monotonic), and what went wrong."""
    session: int
    question: str
    submitted: float
    first_update: Optional[float] = None
    finished: Optional[float] = None
    error: str = ""
    crosstalk: str = ""

    @property
    def wait_s(self) -> Optional[float]:
        return None if self.first_update is None else self.first_update - self.submitted

    @property
    def latency_s(self) -> Optional[float]:
        return None if self.finished is None else self.finished - self.submitted


def message_text(message: dict) -> str:
    """The text of a Chatbot message as the API returns it: a string, or a list of text parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def check_history(messages: list, asked: list[str]) -> str:
    """'' when the chat holds exactly the questions asked, in order, each with a finished answer; else why not.

    ``check_history([{'role': 'user', 'content': 'Hi?'}, {'role': 'assistant', 'content': 'Yes [1].'}], ['Hi?'])
    -> ''``
    """
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    if users != [user_markdown(q) for q in asked]:
        return f"history holds {users!r}, expected {asked!r}"
    replies = [message_text(m) for m in messages if m.get("role") == "assistant"]
    if len(replies) != len(asked) or any(r.endswith("▍") for r in replies):
        return f"{len(replies)} answers for {len(asked)} questions, or one still streaming"
    return ""


def ask(client, question: str, options: ChatOptions, result: Result, give_up: float) -> list:
    """Send one question to /chat and follow its stream; fills result's timings and returns the final chat."""
    job = client.submit(question, options.top_k, options.temperature, options.max_tokens, api_name="/chat")
    limit = min(result.submitted + options.timeout_s, give_up)
    while not job.done():
        if result.first_update is None and job.outputs():
            result.first_update = time.monotonic()
        if time.monotonic() > limit:
            job.cancel()
            raise TimeoutError(f"no answer after {time.monotonic() - result.submitted:.0f} s")
        time.sleep(POLL_S)
    result.finished = time.monotonic()
    if result.first_update is None:
        result.first_update = result.finished
    messages, _sources = job.result(timeout=5)
    return messages


def conversation(client, session: int, questions: list[str], options: ChatOptions, give_up: float,
                 results: list[Result], lock: threading.Lock) -> bool:
    """Ask the questions in one fresh session, checking the history after each; False once something fails."""
    client.reset_session()  # a new Gradio session: new, empty server-side history
    asked: list[str] = []
    for question in questions:
        result = Result(session, question, time.monotonic())
        with lock:
            results.append(result)
        asked.append(question)
        try:
            messages = ask(client, question, options, result, give_up)
        except Exception as exc:  # any failure of the app or the client counts, with its reason
            result.error = f"{type(exc).__name__}: {exc}"
            return False
        result.crosstalk = check_history(messages, asked)
        last = message_text(messages[-1]) if messages else ""
        if last.startswith("⚠️"):
            result.error = f"error shown in the chat: {last[:200]}"
        if result.error or result.crosstalk:
            return False
    return True


def run_session(url: str, session: int, deadline: float, give_up: float, options: ChatOptions,
                results: list[Result], lock: threading.Lock, turns: int, conversations: int) -> None:
    """One user: conversations of a question and follow-ups with unique tokens, started until the deadline."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    try:
        for number in range(conversations):
            if time.monotonic() >= deadline:
                return
            token = f"s{session}c{number}x{secrets.token_hex(3)}"
            first = QUESTIONS[(session + number) % len(QUESTIONS)]
            questions = [TAGGED.format(question=q, token=f"{token}-{n}")
                         for n, q in enumerate([first] + [FOLLOW_UP] * (turns - 1))]
            if not conversation(client, session, questions, options, give_up, results, lock):
                return
    finally:
        client.close()


def run_load(url: str, sessions: int, seconds: float, options: ChatOptions, turns: int = 2,
             results: Optional[list[Result]] = None, conversations: int = MAX_CONVERSATIONS) -> list[Result]:
    """Run sessions in parallel, appending to results; none starts a conversation after `seconds`, and no
    request waits past its timeout."""
    results = [] if results is None else results
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    give_up = deadline + turns * options.timeout_s
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        for future in [pool.submit(run_session, url, n, deadline, give_up, options, results, lock, turns,
                                   conversations) for n in range(sessions)]:
            future.result()
    return results


def at_once(results: list[Result]) -> int:
    """The most requests being answered at one moment (first update to end, each end moved earlier by the
    tolerance): ``at_once([Result(0, 'q', 0, 1, 5), Result(1, 'q', 0, 3, 9)]) -> 2``."""
    events = sorted([(r.first_update, 1) for r in results if r.first_update and r.finished]
                    + [(max(r.finished - OVERLAP_TOLERANCE_S, r.first_update), -1)
                       for r in results if r.first_update and r.finished])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def rss_mb(pid: int) -> Optional[float]:
    """Resident memory of a process in MB (VmRSS), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class MemorySampler:
    """Samples a process's RSS every `interval` seconds in a thread, with the requests finished so far."""
    pid: int
    results: list
    interval: float = 3.0
    limit_s: float = 3600.0
    samples: list = field(default_factory=list)  # (seconds since start, MB, requests finished)

    def __post_init__(self):
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set() and time.monotonic() - self.started < self.limit_s:
            self.sample()
            self.stop.wait(self.interval)

    def sample(self) -> None:
        mb = rss_mb(self.pid)
        if mb is not None:
            done = sum(1 for r in list(self.results) if r.finished)
            self.samples.append((time.monotonic() - self.started, mb, done))
            if len(self.samples) % max(1, round(60 / self.interval)) == 0:  # about once a minute
                print(f"  {self.samples[-1][0]:5.0f} s: {done} answered, RSS {mb:.0f} MB", flush=True)


def warm_rss(samples: list, warm_after: int) -> Optional[float]:
    """RSS once `warm_after` requests finished (model caches filled), else at the first finished one, else first.

    ``warm_rss([(0, 100, 0), (3, 900, 1), (6, 950, 8)], 8) -> 950``
    """
    for needed in (warm_after, 1, 0):
        for _, mb, done in samples:
            if done >= needed:
                return mb
    return None


def slope_mb_per_hour(points: list[tuple[float, float]]) -> Optional[float]:
    """Least-squares slope of (seconds, MB) points, in MB per hour: ``slope_mb_per_hour([(0, 100), (1800, 110),
    (3600, 120)]) -> 20.0``; None for fewer than two distinct times."""
    if len({t for t, _ in points}) < 2:
        return None
    n = len(points)
    mean_t, mean_mb = sum(t for t, _ in points) / n, sum(mb for _, mb in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (mb - mean_mb) for t, mb in points) / var * 3600


def levelling(samples: list, warm_after: int, flat_mb_per_hour: float = 20.0) -> str:
    """Whether memory levels off: RSS at each quarter of the run after warm-up and its trend over each half.

    ``levelling([(t, 2800 + min(t, 1800) / 10, 9) for t in range(0, 7201, 60)], 8)`` -> ``'RSS by quarter after
    warm-up 2800, 2980, 2980, 2980, 2980 MB; trend first half +180 MB/h, second half +0 MB/h: levels off'``
    """
    warm = [(t, mb) for t, mb, done in samples if done >= warm_after] or [(t, mb) for t, mb, _ in samples]
    if len(warm) < 4:
        return "too few samples after warm-up to tell whether memory levels off"
    start, end = warm[0][0], warm[-1][0]
    marks = [start + (end - start) * q / 4 for q in range(5)]
    by_quarter = [next(mb for t, mb in warm if t >= mark - 1e-9) for mark in marks[:-1]] + [warm[-1][1]]
    middle = start + (end - start) / 2
    first = slope_mb_per_hour([p for p in warm if p[0] <= middle])
    second = slope_mb_per_hour([p for p in warm if p[0] >= middle])
    if first is None or second is None:
        return "too short a run to tell whether memory levels off"
    verdict = "levels off" if second <= flat_mb_per_hour else f"still rising at {second:+.0f} MB/h"
    return (f"RSS by quarter after warm-up {', '.join(f'{mb:.0f}' for mb in by_quarter)} MB; trend first half "
            f"{first:+.0f} MB/h, second half {second:+.0f} MB/h: {verdict}")


def summary(results: list[Result], samples: list, sessions: int, elapsed_s: float, max_growth_mb: float,
            options: ChatOptions, slots: int = 1) -> tuple[str, list[str]]:
    """The printed summary and the list of failures (empty when the run passed)."""
    done = [r for r in results if r.finished and not r.error]
    errors = [r for r in results if r.error]
    crosstalk = [r for r in results if r.crosstalk]

    def fmt(values, q):
        value = percentile(values, q)
        return "—" if value is None else f"{value:.1f} s"

    latencies, waits = [r.latency_s for r in done], [r.wait_s for r in done]
    lines = [f"sessions {sessions}, duration {elapsed_s / 60:.1f} min, /chat with top_k={options.top_k} "
             f"max_tokens={options.max_tokens}",
             f"requests {len(results)}: {len(done)} answered ({len(done) / max(elapsed_s / 60, 1e-9):.1f}/min), "
             f"{len(errors)} errors, {len(crosstalk)} cross-talk, at most {at_once(results)} at once ({slots} slots)",
             f"latency    p50 {fmt(latencies, 50)}  p95 {fmt(latencies, 95)}  max {fmt(latencies, 100)}",
             f"queue wait p50 {fmt(waits, 50)}  p95 {fmt(waits, 95)}  max {fmt(waits, 100)}"]
    failures = [f"session {r.session}: {r.question!r}: {r.error}" for r in errors]
    failures += [f"session {r.session}: cross-talk: {r.crosstalk}" for r in crosstalk]
    if at_once(results) > slots:
        failures.append(f"{at_once(results)} answers at once: more than the model's {slots} slots")
    if not done:
        failures.append("no request was answered")
    if samples:
        mbs = [mb for _, mb, _ in samples]
        warm = warm_rss(samples, sessions)
        growth = mbs[-1] - warm
        lines.append(f"memory (RSS) start {mbs[0]:.0f} MB, warm {warm:.0f} MB, peak {max(mbs):.0f} MB, "
                     f"end {mbs[-1]:.0f} MB; growth after warm-up {growth:+.0f} MB (bound {max_growth_mb:.0f} MB), "
                     f"{len(samples)} samples")
        lines.append(levelling(samples, sessions))
        if growth > max_growth_mb:
            failures.append(f"memory grew {growth:.0f} MB after warm-up (bound {max_growth_mb:.0f} MB)")
    else:
        failures.append("no memory sample of the app")
    return "\n".join(lines), failures


def app_pid(url: str) -> int:
    """The pid of this process's app.py child serving url (the test helper does not expose its process)."""
    port = str(urlparse(url).port).encode()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and any(a.endswith(b"app.py") for a in argv) and port in argv:
            return int(stat.parent.name)
    raise RuntimeError(f"cannot find the app.py process serving {url}")


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Soak the chat with concurrent sessions; exit 1 on any problem.")
    parser.add_argument("--minutes", type=float, default=5.0, help="How long new conversations start (default 5).")
    parser.add_argument("--sessions", type=int, default=8, help="Concurrent chat sessions (default 8).")
    parser.add_argument("--turns", type=int, default=2, help="Questions per conversation: 1 + follow-ups (default 2).")
    parser.add_argument("--top-k", type=int, default=ChatOptions.top_k, help="Passages per answer (default 2).")
    parser.add_argument("--max-tokens", type=int, default=ChatOptions.max_tokens, help="Longest answer (default 64).")
    parser.add_argument("--timeout", type=float, default=ChatOptions.timeout_s, help="Longest wait for one request, s.")
    parser.add_argument("--max-growth-mb", type=float, default=300.0, help="Allowed RSS growth after warm-up.")
    parser.add_argument("--sample-every", type=float, default=3.0, help="Seconds between memory samples.")
    parser.add_argument("--llm-server", action="store_true", help="Start `python -m llama_cpp.server` with the bundled "
                        "model on a free loopback port and generate through it (the team set-up on one machine).")
    parser.add_argument("--backends", help="Run the load once per model set-up, side by side: a comma-separated list "
                        "of in-process, llama_cpp.server and llama-server:N (llama.cpp's server with N slots, from "
                        "`make llama-server`).")
    parser.add_argument("--llm-url", help="Generate through this OpenAI-compatible model server (RAG_LLM_URL) instead of "
                        "in the app; RAG_LLM_MODEL and RAG_LLM_API_KEY from the environment apply.")
    args = parser.parse_args(argv)
    if not (0 < args.minutes <= 24 * 60 and 1 <= args.sessions <= 64 and 1 <= args.turns <= 20):
        parser.error("expected 0 < --minutes <= 1440, 1 <= --sessions <= 64 and 1 <= --turns <= 20")
    import re

    for backend in (args.backends or "").split(",") if args.backends else []:
        if not re.fullmatch(r"in-process|llama_cpp\.server|llama-server:[1-9][0-9]?", backend):
            parser.error(f"unknown backend {backend!r}: expected in-process, llama_cpp.server or llama-server:N (1-99)")
    return args


def remote_env(url: Optional[str]) -> dict[str, str]:
    """The app's environment for a model server: ``remote_env('http://127.0.0.1:8081/v1')`` names it and passes on
    RAG_LLM_MODEL/RAG_LLM_API_KEY (running_app clears every other RAG_ variable); ``remote_env(None) -> {}``."""
    if not url:
        return {}
    return {"RAG_LLM_URL": url, **{k: os.environ[k] for k in ("RAG_LLM_MODEL", "RAG_LLM_API_KEY") if os.environ.get(k)}}


def model_server(backend: str, model: Path, folder: Path, servers: ExitStack) -> tuple[Optional[str], int]:
    """Start the model server a backend names; (its URL or None for in-process, the answers it serves at once)."""
    from tests.server_fixtures import MODEL_ALIAS, llama_server, llm_server

    if backend == "in-process":
        return None, 1
    os.environ["RAG_LLM_MODEL"] = MODEL_ALIAS
    if backend == "llama_cpp.server":
        os.environ.pop("RAG_LLM_API_KEY", None)  # this one is started without a key
        return servers.enter_context(llm_server(model, folder)).url, 1
    slots = int(backend.split(":", 1)[1]) if backend.startswith("llama-server:") else 0
    if slots < 1:
        raise ValueError(f"unknown backend {backend!r}: expected in-process, llama_cpp.server or llama-server:N")
    server = servers.enter_context(llama_server(model, folder, parallel=slots))
    os.environ["RAG_LLM_API_KEY"] = server.api_key
    return server.url, slots


def soak(args, model: Path, backend: str, llm_url: Optional[str]) -> tuple[str, list[str], str]:
    """One load run against one model set-up: (summary, failures, the app log's end)."""
    options = ChatOptions(args.top_k, 0.0, args.max_tokens, args.timeout)
    seconds = args.minutes * 60
    from tests.app_fixtures import running_app

    with tempfile.TemporaryDirectory(prefix="rag-soak-") as folder, ExitStack() as servers:
        slots = 1
        if backend:
            llm_url, slots = model_server(backend, model, Path(folder), servers)
        with running_app(Path(folder), model, **remote_env(llm_url)) as app:
            print(f"app up on {app.url} ({'model at ' + llm_url if llm_url else 'model in-process'}); "
                  f"{args.sessions} sessions for {args.minutes:g} min", flush=True)
            results: list[Result] = []
            sampler = MemorySampler(app_pid(app.url), results, args.sample_every, seconds + args.turns * args.timeout + 60)
            sampler.thread.start()
            try:
                started = time.monotonic()
                run_load(app.url, args.sessions, seconds, options, args.turns, results)
                elapsed = time.monotonic() - started  # from the first request to the last answer
            finally:
                sampler.stop.set()
                sampler.thread.join(timeout=10)
                sampler.sample()  # the memory at the end, after the load
            log_tail = app.log_tail(2000)
    text, failures = summary(results, sampler.samples, args.sessions, elapsed, args.max_growth_mb, options, slots)
    return text, failures, log_tail


def main(argv: Optional[list[str]] = None) -> int:
    import pytest

    from rag.models import resolve_model
    from rag.settings import Settings

    args = parse_args(argv)
    model = resolve_model(Settings(home=ROOT / ".rag"))  # the shared prepared model, as the tests use it
    backends = args.backends.split(",") if args.backends else ["llama_cpp.server" if args.llm_server else ""]
    failed = False
    for backend in backends:
        try:
            text, failures, log_tail = soak(args, model, backend, args.llm_url)
        except (pytest.fail.Exception, RuntimeError, ValueError) as exc:  # running_app reports a failed start with pytest.fail
            print(f"soak: {backend or 'the app'} did not start: {exc}", file=sys.stderr)
            return 1
        print(f"== {backend or ('model at ' + args.llm_url if args.llm_url else 'in-process')} (load {os.getloadavg()[0]:.2f})")
        print(text)
        for failure in failures:
            print(f"FAIL {failure}")
        if failures:
            print(f"--- app log (end) ---\n{log_tail}", file=sys.stderr)
        failed = failed or bool(failures)
    print("soak: FAILED" if failed else "soak: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Reading untrusted files in a worker process, so that no file can take the app's memory or time.

A small file can expand enormously: a 3 MB PDF of 20,000 pages sharing one content stream holds
900 million characters, 10 MB of nested ``<b>`` tags take gigabytes to parse. So files are read
(``documents.load_document``) in a separate Python process that may take at most ``parse_memory_mb``
of memory beyond its own size (``RLIMIT_AS``) and ``parse_timeout_s`` seconds per file, while the
page and character limits stop the reading itself as soon as they are passed. A file that breaks a
limit, or kills the worker, is refused with one sentence naming the limit, and the worker is started
again for the next file. One worker reads the files one at a time, so an ingest pays its start-up
once. It ends when its parent does (its stdin closes).

Pages and feeds fetched by link are read here too (rag/pages.py), within the same limits: their bytes are
handed over in a temporary file.

The protocol is one JSON object a line: ``{"path", "corpus", "pages", "chars"}`` in, ``{"document": …}``
out; ``{"kind": "page", "path", "url", "content_type", "charset", "chars"}`` in, ``{"page": [title, text,
date]}`` out; ``{"kind": "feed", "path", "url"}`` in, ``{"links": […]}`` out; or ``{"error": "one sentence"}``.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import weakref
from dataclasses import asdict
from pathlib import Path
from typing import Optional

from .documents import Document, Limits, load_document
from .errors import DocumentError

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 120  # the worker's own start-up (Python and the parsers), not counted in the time limit


class Reader:
    """Reads documents in a worker process within the settings' limits; one file at a time."""

    def __init__(self, settings):
        self.limits = Limits(settings.max_document_pages, settings.max_document_chars)
        self.max_mb = settings.max_document_mb
        self.memory_mb = settings.parse_memory_mb
        self.timeout_s = settings.parse_timeout_s
        self.process: Optional[subprocess.Popen] = None
        self.lock = threading.Lock()

    def read(self, path: Path, corpus: Optional[Path] = None) -> Document:
        """The file as a Document, read by the worker.

        Raises:
            DocumentError: over a limit (size, pages, characters, memory, time) or unreadable.
        """
        path = Path(path)
        check_size(path, self.max_mb)
        request = {"path": str(path), "corpus": str(corpus) if corpus else None,
                   "pages": self.limits.pages, "chars": self.limits.chars}
        with self.lock:
            reply = self.exchange(request, path.name)
        if "error" in reply:
            raise DocumentError(reply["error"])
        return Document(**reply["document"])

    def read_page(self, page) -> tuple[str, str, str]:
        """(title, main text, date) of a fetched page (fetch.Fetched), read by the worker within the limits.

        Raises:
            DocumentError: over a limit (memory, time, characters), binary, or unreadable.
        """
        from .fetch import shown

        reply = self.exchange_bytes(page.body, {"kind": "page", "url": page.url, "content_type": page.content_type,
                                                "charset": page.charset, "chars": self.limits.chars}, shown(page.url))
        return tuple(reply["page"])

    def read_feed(self, feed) -> list[str]:
        """The entries' links of a fetched feed (fetch.Fetched), read by the worker within the limits."""
        from .fetch import shown

        return self.exchange_bytes(feed.body, {"kind": "feed", "url": feed.url}, shown(feed.url))["links"]

    def exchange_bytes(self, body: bytes, request: dict, name: str) -> dict:
        """Hand bytes to the worker in a temporary file with a request about them; its reply, or its one sentence."""
        with tempfile.TemporaryDirectory(prefix="rag-page-") as folder:
            path = Path(folder) / "body"
            path.write_bytes(body)
            with self.lock:
                reply = self.exchange({**request, "path": str(path)}, name)
        if "error" in reply:
            raise DocumentError(reply["error"])
        return reply

    def exchange(self, request: dict, name: str) -> dict:
        """Send one request to the worker (started if need be) and wait for its reply within the time limit."""
        process = self.send(request)
        ready, _, _ = select.select([process.stdout], [], [], self.timeout_s)
        if not ready:
            self.stop()
            raise DocumentError(f"{name}: reading it takes longer than {self.timeout_s:g} s, the limit "
                                "(RAG_PARSE_TIMEOUT_S), so it is not added.")
        line = process.stdout.readline()
        if not line:  # the worker died: the kernel killed it at its memory limit, or the parser crashed it
            self.stop()
            raise DocumentError(f"{name}: reading it needs more than {self.memory_mb:,} MB of memory, the limit "
                                "(RAG_PARSE_MEMORY_MB), or crashes the reader, so it is not added.")
        return json.loads(line)

    def send(self, request: dict) -> subprocess.Popen:
        """Write a request to a live worker; a worker that died since the last file is replaced first."""
        for attempt in (1, 2):
            process = self.start()
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                return process
            except OSError:  # BrokenPipeError: it exited
                self.stop()
        raise DocumentError("The document reader process cannot be started.")

    def start(self) -> subprocess.Popen:
        """The running worker, started now if there is none."""
        if self.process is not None and self.process.poll() is None:
            return self.process
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))}
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "rag.sandbox", str(self.memory_mb)], env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                            text=True, encoding="utf-8", cwd=str(PACKAGE_PARENT))
        except OSError as exc:
            raise DocumentError(f"The document reader process cannot be started ({exc.strerror or exc}).") from None
        weakref.finalize(self, stop_process, self.process)
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT_S)
        if not ready or self.process.stdout.readline().strip() != "ready":
            self.stop()
            raise DocumentError("The document reader process did not start.")
        return self.process

    def stop(self) -> None:
        """End the worker (the next read starts a fresh one)."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    close = stop


def stop_process(process: subprocess.Popen) -> None:
    """Kill a worker and reap it; harmless when it has already ended."""
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        try:
            stream.close()
        except OSError:
            pass


def check_size(path: Path, limit_mb: float) -> None:
    """Refuse files over the size limit before reading them."""
    try:
        size_mb = path.stat().st_size / 2**20
    except OSError as exc:
        raise DocumentError(f"{path.name}: cannot be read ({exc.strerror or exc}).") from None
    if size_mb > limit_mb:
        raise DocumentError(f"{path.name}: {size_mb:.1f} MB is over the {limit_mb:g} MB limit "
                            "(RAG_MAX_DOCUMENT_MB); split it into smaller files or raise the limit.")


def limit_memory(extra_mb: int) -> None:
    """Cap this process's address space at its present size plus extra_mb (Linux; elsewhere only the time limit holds)."""
    import resource

    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    limit = size + extra_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(extra_mb: int) -> None:
    """The worker: read one request a line from stdin, answer one line on stdout, until stdin closes."""
    import logging

    import bs4  # noqa: F401  the parsers are loaded before the limit, so it bounds what reading adds
    import docx  # noqa: F401
    import ebooklib.epub  # noqa: F401
    import feedparser  # noqa: F401
    import pypdf  # noqa: F401
    import trafilatura  # noqa: F401

    from . import pages  # noqa: F401  (and, through it, what reading a fetched page needs)

    logging.disable(logging.WARNING)  # pypdf's warnings about broken files are not the parent's business
    limit_memory(extra_mb)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        path = Path(request["path"])
        try:
            reply = json.dumps(answer(request, path), default=str)
        except DocumentError as exc:
            reply = json.dumps({"error": str(exc)})
        except MemoryError:  # the limit held and the parser gave up: the same sentence as a worker killed at it
            shown = request["url"][:200] if request.get("url") else path.name
            reply = json.dumps({"error": f"{shown}: reading it needs more than {extra_mb:,} MB of memory, the limit "
                                         "(RAG_PARSE_MEMORY_MB), so it is not added."})
        except Exception as exc:  # the reply itself failed (MemoryError, …): still one sentence
            shown, what = (request["url"][:200], "it") if request.get("url") else (path.name, "the file")
            reply = json.dumps({"error": f"{shown}: {what} cannot be read ({type(exc).__name__})."})
        sys.stdout.write(reply + "\n")
        sys.stdout.flush()


def answer(request: dict, path: Path) -> dict:
    """The worker's reply to one request: a document, a page's (title, text, date) or a feed's links."""
    from .pages import read_feed, read_page

    kind = request.get("kind", "document")
    if kind == "page":
        return {"page": read_page(path.read_bytes(), request["url"], request["content_type"], request["charset"],
                                  request["chars"])}
    if kind == "feed":
        return {"links": read_feed(path.read_bytes(), request["url"])}
    corpus = Path(request["corpus"]) if request["corpus"] else None
    return {"document": asdict(load_document(path, corpus, Limits(request["pages"], request["chars"])))}


if __name__ == "__main__":
    serve(int(sys.argv[1]))

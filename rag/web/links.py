"""Links: add a web page, or a feed's new entries, to the corpus by its link, with an upload's protections.

Each page is fetched (rag/fetch.py: only where the reach allows, by its deadline) and read by a sandboxed
worker (rag/pages.py) outside the index queue; only then does it take a turn on the queue (``turn``) to go
through uploads.add_uploads like a file from the user's machine: a safe name, the size and type checks, a
numbered copy on a name clash, indexed on its own and undone if that fails. So another user's upload
waits for at most one page's indexing, never for a slow site. A feed adds at most ``feed_max_entries``
entries whose link no corpus file names as its source yet, within ``feed_deadline_s`` in all, so
``rag ingest --feed URL`` can be re-run for the next ones. An import is a generator that yields after each
page: when the one who asked goes away, it is closed there and fetches nothing more.
"""
from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Sequence
from urllib.parse import urlsplit

from ..addresses import Reach, is_loopback_host
from ..errors import DocumentError
from ..fetch import FEED_TYPES, PAGE_TYPES, Deadline, fetch
from ..index import ProgressFn
from ..pages import known_sources, page_markdown
from ..text import inert
from .uploads import UploadResult, add_uploads, combine


@dataclass
class LinkImport:
    """Where an import by link stands: what became of each page so far, and of the feed's other entries."""
    result: UploadResult = field(default_factory=UploadResult)
    done: int = 0  # links tried so far
    total: int = 0  # links this run takes
    already: int = 0  # a feed's entries already in the corpus
    over: int = 0  # a feed's new entries over the cap (feed_max_entries), left for the next run
    cut: int = 0  # links not tried because the feed's deadline passed, left for the next run
    cap: int = 0  # the cap, and the deadline in seconds, that left them
    deadline_s: float = 0.0


def owner_reach(settings, url: str) -> Reach:
    """The command line's reach for a link its owner named: loopback too when the link itself is on loopback
    (the owner can read those pages anyway), never for a link elsewhere that redirects or points there."""
    return Reach.of(settings, loopback=is_loopback_host(urlsplit(url.strip()).hostname or ""))


def import_links(assistant, urls: Sequence[str], reach: Reach, reader=None, turn=None,
                 deadline: Optional[Deadline] = None, progress: Optional[ProgressFn] = None) -> Iterator[LinkImport]:
    """Fetch and read each page, then save and index it in its own turn; yields where it stands after each one.

    ``reader`` reads the pages (the index's worker by default), ``turn`` is the index queue's lock (none on the
    command line), ``deadline`` the feed's, if any: the links not reached by then are left for the next run.
    """
    settings, reader = assistant.settings, reader or assistant.index.reader
    turn, state, reports = turn or contextlib.nullcontext(), LinkImport(total=len(urls)), []
    with tempfile.TemporaryDirectory(prefix="rag-links-") as folder:
        for number, url in enumerate(urls):
            if deadline is not None and deadline.passed():
                state.cut, state.deadline_s = len(urls) - number, deadline.seconds
                break
            page_deadline = deadline.sooner(settings.fetch_deadline_s) if deadline else Deadline(settings.fetch_deadline_s)
            try:
                page = fetch(url, settings.max_upload_mb, settings.fetch_timeout_s, PAGE_TYPES, reach=reach,
                             deadline=page_deadline)
                name, markdown = page_markdown(page, url.strip(), reader)
            except DocumentError as exc:
                state.result.failed.append((url, str(exc)))
            else:
                path = Path(folder) / f"{number}.md"  # one file each: two pages may share a title
                path.write_text(markdown, encoding="utf-8")
                with turn:
                    added = add_uploads(assistant, [(name, path)], progress)
                path.unlink()
                state.result.saved += added.saved
                state.result.failed += added.failed
                reports += added.reports
            state.done = number + 1
            state.result.summary = combine(reports).summary() if reports else ""
            yield state
    yield state  # once more at the end: a run cut short by the deadline says so


def import_feed(assistant, url: str, reach: Reach, reader=None, turn=None,
                progress: Optional[ProgressFn] = None) -> Iterator[LinkImport]:
    """Add the feed's entries not in the corpus yet, at most feed_max_entries of them, within feed_deadline_s.

    Raises:
        DocumentError: the feed cannot be fetched or read.
    """
    settings, reader = assistant.settings, reader or assistant.index.reader
    deadline = Deadline(settings.feed_deadline_s)
    feed = fetch(url, settings.max_upload_mb, settings.fetch_timeout_s, FEED_TYPES + PAGE_TYPES, reach=reach,
                 deadline=deadline.sooner(settings.fetch_deadline_s))
    links = reader.read_feed(feed)
    known = known_sources(settings.corpus)
    new = [link for link in links if link not in known]
    taken = new[:settings.feed_max_entries]
    for state in import_links(assistant, taken, reach, reader, turn, deadline, progress):
        state.already, state.over, state.cap = len(links) - len(new), len(new) - len(taken), settings.feed_max_entries
        yield state


def last(steps: Iterator[LinkImport]) -> LinkImport:
    """Run an import to its end: where it stood last."""
    state = LinkImport()
    for state in steps:
        pass
    return state


def add_links(assistant, urls: Sequence[str], progress: Optional[ProgressFn] = None, *, reach: Reach) -> UploadResult:
    """Fetch each page, save it into the corpus and index it; each link ends up saved or failed (with its sentence)."""
    return last(import_links(assistant, urls, reach, progress=progress)).result


def add_feed(assistant, url: str, progress: Optional[ProgressFn] = None, *, reach: Reach) -> LinkImport:
    """Add the feed's new entries (import_feed) to its end. Raises DocumentError: the feed cannot be read."""
    return last(import_feed(assistant, url, reach, progress=progress))


def left_note(state: LinkImport) -> str:
    """What a feed's run did not take, and why: ``'12 more new entries are left for the next run (at most 100 a run,
    RAG_FEED_MAX_ENTRIES).'``; '' when it took them all."""
    left = state.over + state.cut
    if not left:
        return ""
    why = [f"at most {state.cap:,} a run, RAG_FEED_MAX_ENTRIES" if state.over else "",
           f"the feed's {state.deadline_s:g} s ran out, RAG_FEED_DEADLINE_S" if state.cut else ""]
    entries = "1 more new entry is" if left == 1 else f"{left:,} more new entries are"
    return f"{entries} left for the next run ({'; '.join(filter(None, why))})."


def link_lines(state: LinkImport) -> list[str]:
    """What became of each link, for the CLI (inert, as every face's output):
    ``['saved: Port strike ends.md', 'failed: http(:)//x/: …', '1 added, …']``."""
    result = state.result
    lines = [f"saved: {name}" for name in result.saved] + [f"failed: {reason}" for _, reason in result.failed]
    if state.already:
        lines.append(f"{state.already} already in the corpus")
    if left_note(state):
        lines.append(left_note(state))
    return [inert(line) for line in lines + [result.summary or f"{len(result.saved)} added"]]


__all__ = ["LinkImport", "add_feed", "add_links", "import_feed", "import_links", "left_note", "link_lines", "owner_reach"]

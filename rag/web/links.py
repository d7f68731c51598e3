"""Links: add a web page, or a feed's new entries, to the corpus by its link, with an upload's protections.

A page is fetched and read (rag/fetch.py) into a Markdown file, then goes through uploads.add_uploads
like a file from the user's machine: a safe name, the size and type checks, a numbered copy on a
name clash, indexed on its own and undone if that fails. A feed adds only entries whose link no
file in the corpus names as its source yet, so ``rag ingest --feed URL`` can be re-run.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional, Sequence

from ..errors import DocumentError
from ..fetch import FEED_TYPES, PAGE_TYPES, fetch, feed_links, known_sources, page_markdown
from ..index import ProgressFn
from .uploads import UploadResult, add_uploads


def add_links(assistant, urls: Sequence[str], progress: Optional[ProgressFn] = None) -> UploadResult:
    """Fetch each page, save it into the corpus and index it; each link ends up saved or failed (with its sentence)."""
    settings, result = assistant.settings, UploadResult()
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for number, url in enumerate(urls):
            try:
                page = fetch(url, settings.max_upload_mb, settings.fetch_timeout_s, PAGE_TYPES)
                name, markdown = page_markdown(page, url.strip())
            except DocumentError as exc:
                result.failed.append((url, str(exc)))
                continue
            path = Path(folder) / str(number) / "page.md"  # one folder each: two pages may share a title
            path.parent.mkdir()
            path.write_text(markdown, encoding="utf-8")
            files.append((name, path))
        added = add_uploads(assistant, files, progress) if files else UploadResult()
    result.saved, result.failed, result.summary = added.saved, result.failed + added.failed, added.summary
    return result


def add_feed(assistant, url: str, progress: Optional[ProgressFn] = None) -> tuple[UploadResult, int]:
    """Add the feed's entries not in the corpus yet: (what happened to the new ones, how many were there already).

    Raises:
        DocumentError: the feed cannot be fetched or read.
    """
    settings = assistant.settings
    feed = fetch(url, settings.max_upload_mb, settings.fetch_timeout_s, FEED_TYPES + PAGE_TYPES)
    links = feed_links(feed)
    known = known_sources(settings.corpus)
    new = [link for link in links if link not in known]
    return add_links(assistant, new, progress), len(links) - len(new)


def link_lines(result: UploadResult, already: int = 0) -> list[str]:
    """What became of each link, for the CLI: ``['saved: Port strike ends.md', 'failed: http://x/: …', '1 added, …']``."""
    lines = [f"saved: {name}" for name in result.saved] + [f"failed: {reason}" for _, reason in result.failed]
    if already:
        lines.append(f"{already} already in the corpus")
    return lines + [result.summary or f"{len(result.saved)} added"]

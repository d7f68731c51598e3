"""Presentation of the Documents and Evaluation tabs: the documents table, upload reports, the evaluation report.

Pure functions from library data (DocInfo, upload results, a report's Markdown) to strings, unit-tested without a
model; like presentation.py (the chat), every text that comes from a document or a test set is escaped.
"""
from __future__ import annotations

import html
import re
from typing import Sequence

from ..text import inert
from .presentation import escape, hide_paths

def documents_html(docs: Sequence) -> str:
    """The Documents tab's table: title, publication date, file, chunks, when indexed, status (all escaped).

    ``documents_html([])`` -> ``'<p class="docs-empty">No documents yet: …</p>'``
    """
    if not docs:
        return '<p class="docs-empty">No documents yet: add articles below.</p>'
    rows = "".join(
        f'<tr><td class="doc-title">{escape(d.title)}</td><td class="doc-date">{escape(d.date)}</td>'
        f'<td class="doc-file">{escape(d.source)}</td>'
        f'<td class="doc-chunks">{d.chunks}</td><td>{escape(when(d.indexed_at))}</td>'
        f'<td>{"indexed" if d.complete else "incomplete: ingest again"}</td></tr>' for d in docs)
    return ('<table class="docs-table"><thead><tr><th>Title</th><th>Published</th><th>File</th><th>Chunks</th><th>Indexed</th>'
            f'<th>Status</th></tr></thead><tbody>{rows}</tbody></table>')


def when(stamp: str) -> str:
    """``when('2025-01-02T03:04:05+00:00') -> '2025-01-02 03:04 UTC'``; other text is kept."""
    match = re.match(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2})?(?:\+00:00|Z)$", stamp or "")
    return f"{match.group(1)} {match.group(2)} UTC" if match else (stamp or "")


def document_choices(docs: Sequence) -> list[tuple[str, str]]:
    """Dropdown choices (label, doc_id): ``[('T — a.md', 'id')]``."""
    return [(f"{d.title} — {d.source}", d.doc_id) for d in docs]


def upload_message(saved: Sequence[str], failed: Sequence[tuple[str, str]], summary: str = "",
                   replaced: Sequence[str] = ()) -> str:
    """What an upload did, in Markdown: each added or replaced file, each refused one with its reason."""
    lines = [f"✅ Added **{escape(name)}**; you can ask about it now." for name in saved]
    lines += [f"🔁 Replaced **{escape(name)}** with the upload; you can ask about it now." for name in replaced]
    lines += [f"⚠️ Not added: {escape(hide_paths(reason))}" for _, reason in failed]
    if summary and (saved or replaced):
        lines.append(f"<small>{escape(summary)}</small>")
    return "\n\n".join(lines) or "No file was uploaded."



IMAGE_LINE = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*$", re.MULTILINE)
EVAL_INTRO = ("Score the assistant on a test set, asked through the same answer path as the chat on the articles "
              "indexed here: retrieval, answers, citations, refusals and latency. Questions use the one model in turn, "
              "so the chat waits while an evaluation runs (about 10–60 s a question).")


def evaluation_markdown(markdown: str, folder: str = "") -> str:
    """An evaluation report for the page: image links dropped (the chart is shown beside it), any HTML inert, no
    absolute path; folder is where its files are, in the data folder.

    ``evaluation_markdown('# E\\n\\n![c](chart.png)\\n\\n| a <b> |', 'eval/1')``
    -> ``'# E\\n\\n| a &lt;b> |\\n\\n<small>Report files: <code>eval/1</code> in the data folder</small>'``
    """
    body = inert(hide_paths(IMAGE_LINE.sub("", markdown)).replace("<", "&lt;")).rstrip()  # the chart line goes first
    body = re.sub(r"\n{3,}", "\n\n", body)
    return body + (f"\n\n<small>Report files: <code>{html.escape(hide_paths(str(folder)))}</code> in the data "
                   "folder</small>" if folder else "")

"""Uploads: a safe file name for the corpus folder, type and size checks, then save, index or delete.

An uploaded name comes from the user's machine: it may hold folders, ``..``, control characters
or a misleading type. Only the last path part survives, reduced to letters (any script), digits
and a few punctuation marks, with a supported suffix; the content is sniffed so a binary file
renamed ``.txt`` is refused before it reaches the corpus.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from ..documents import SUPPORTED_SUFFIXES, doc_id_for, entry_path, looks_binary, source_name
from ..errors import DocumentError, RagError
from ..index import IngestReport, ProgressFn

MAX_NAME_CHARS = 120
KEPT_PUNCTUATION = frozenset("-_. ()")


def safe_file_name(name: str) -> str:
    """The last part of an uploaded name, made safe to create in the corpus folder.

    ``safe_file_name('../../etc/Grüße: ¿qué?.TXT') -> 'Grüße_ _qué.txt'``
    ``safe_file_name('C:\\\\Users\\\\me\\\\..\\\\.bashrc.md') -> 'bashrc.md'``
    """
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"\.{2,}", ".", keep_safe(stem, "_"))  # no '..' anywhere
    stem = re.sub(r"_{2,}", "_", stem).strip(" ._-") or "document"
    suffix = keep_safe(suffix, "").lower()
    room = MAX_NAME_CHARS - len(suffix) - 1
    return f"{stem[:room].rstrip(' ._-') or 'document'}.{suffix}" if suffix else stem[:MAX_NAME_CHARS]


def keep_safe(text: str, replacement: str) -> str:
    """Letters, marks and digits of any script and a few punctuation marks; others replaced.

    ``keep_safe('हिन्दी/news?', '_') -> 'हिन्दी_news_'``
    """
    return "".join(ch if ch in KEPT_PUNCTUATION or unicodedata.category(ch)[0] in "LMN" else replacement
                   for ch in text)


def check_upload(name: str, size: int, head: bytes, max_mb: float) -> str:
    """The safe corpus name of an upload, after checking its type, size and first bytes.

    ``check_upload('notes.md', 12, b'# Notes', 50.0) -> 'notes.md'``

    Raises:
        DocumentError: unsupported type, empty, too large, or content that does not match the type.
    """
    safe = safe_file_name(name)
    suffix = "." + safe.rpartition(".")[2].lower() if "." in safe else ""
    shown = safe or "the file"
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{shown}: unsupported file type '{suffix or 'none'}'; "
                            f"upload {', '.join(SUPPORTED_SUFFIXES)} files.")
    if size <= 0:
        raise DocumentError(f"{shown}: the file is empty.")
    if size > max_mb * 1024 * 1024:
        raise DocumentError(f"{shown}: {size / 1024 / 1024:.1f} MB is over the {max_mb:g} MB upload limit.")
    if suffix == ".pdf" and b"%PDF-" not in head[:1024]:
        raise DocumentError(f"{shown}: this is not a PDF file (it lacks the PDF header).")
    if suffix in (".docx", ".epub") and not head.startswith(b"PK\x03\x04"):  # both are zip archives
        raise DocumentError(f"{shown}: this is not a {suffix[1:]} file (it is not a zip archive).")
    if suffix not in (".pdf", ".docx", ".epub") and looks_binary(head):
        raise DocumentError(f"{shown}: looks like a binary file, not text.")
    return safe


@dataclass
class UploadResult:
    saved: list[str] = field(default_factory=list)  # new corpus file names, now indexed
    replaced: list[str] = field(default_factory=list)  # corpus files replaced on request, now indexed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (uploaded name, reason)
    summary: str = ""
    reports: list = field(default_factory=list)  # the IngestReport of each upload indexed


@dataclass(frozen=True)
class Placed:
    upload: str  # the name the user uploaded
    target: Path  # where it now is in the corpus folder
    backup: Optional[Path] = None  # the replaced article's bytes, until the upload is indexed


def add_uploads(assistant, files: Sequence[tuple[str, Path]], progress: Optional[ProgressFn] = None,
                replace: bool = False) -> UploadResult:
    """Check, save into the corpus folder and index uploaded files (original name, temporary path).

    Every upload ends up as exactly one of saved, replaced or failed. A name already in the corpus
    folder (or earlier in this batch) gets a numbered name, ``name (2).md``, unless replace is asked
    for, which replaces an existing article file (never a link or a folder). Each upload is indexed on
    its own; one that fails is undone: a new file is removed, a replaced article gets its bytes back and
    is indexed as before, so the corpus and the index are as they were.
    """
    settings, result, claimed, placed = assistant.settings, UploadResult(), set(), []
    for name, path in files:
        try:
            safe = check_upload(name, path.stat().st_size, read_head(path), settings.max_upload_mb)
            trial_read(path, safe, assistant.index.reader)
            placed.append(place(name, path, safe, settings.corpus, replace, claimed))
        except DocumentError as exc:
            result.failed.append((name, str(exc)))
        except OSError as exc:  # a full disk or a read-only folder while copying
            result.failed.append((name, f"{safe_file_name(name)}: could not be saved ({exc.strerror or exc})."))
    reports = []
    for number, item in enumerate(placed):
        step = (lambda f, m, n=number: progress((n + f) / len(placed), m)) if progress else None
        reason = ingest_one(assistant, item, step, reports)
        if reason is not None:
            undo(assistant, item)
            result.failed.append((item.upload, reason))
        else:
            if item.backup:
                item.backup.unlink(missing_ok=True)
            (result.replaced if item.backup else result.saved).append(item.target.name)
    result.summary, result.reports = (combine(reports).summary() if reports else ""), reports
    return result


def place(upload: str, source: Path, safe: str, corpus: Path, replace: bool, claimed: set[str]) -> Placed:
    """Copy an upload into the corpus folder: over an existing article when replacing, else under a free name.

    Nothing is ever written through a symbolic link: a link counts as a taken name, and is never replaced.

    Raises:
        DocumentError: replacing was asked for, but the name belongs to a link or a folder.
        OSError: the copy failed (nothing is left behind).
    """
    corpus.mkdir(parents=True, exist_ok=True)
    target = corpus / safe
    if replace and safe not in claimed and (target.exists() or target.is_symlink()):
        if target.is_symlink() or not target.is_file():
            raise DocumentError(f"{safe}: the corpus entry of that name is a link or a folder, not an article file, "
                                "so it is not replaced; rename the upload to add it.")
        claimed.add(safe)
        return Placed(upload, target, swap_in(source, target))
    for n in range(1, 10_000):
        name = numbered_name(safe, n)
        if name in claimed:
            continue
        try:
            copy_new(source, corpus / name)
        except FileExistsError:  # a file, a folder or a link (even a dangling one) has this name
            continue
        claimed.add(name)
        return Placed(upload, corpus / name)
    raise DocumentError(f"{safe}: too many files of this name in the corpus folder.")


def numbered_name(name: str, n: int) -> str:
    """The n-th candidate name for a file: the name itself, then numbered copies, within MAX_NAME_CHARS.

    ``numbered_name('notes.md', 1) -> 'notes.md'``; ``numbered_name('notes.md', 2) -> 'notes (2).md'``;
    ``numbered_name('README', 3) -> 'README (3)'``
    """
    if n == 1:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    tail = f" ({n})" + (f".{suffix}" if suffix else "")
    return stem[:MAX_NAME_CHARS - len(tail)].rstrip(" ._-") + tail


def copy_new(source: Path, target: Path) -> None:
    """Copy source to a new file at target; FileExistsError when anything, a link included, is there."""
    with open(source, "rb") as src, open(target, "xb") as dst:  # O_EXCL: never follows a link
        try:
            shutil.copyfileobj(src, dst)
        except BaseException:
            dst.close()
            target.unlink(missing_ok=True)
            raise


def swap_in(source: Path, target: Path) -> Path:
    """Replace target with a copy of source in one rename; returns a hidden backup of target's bytes."""
    made = []
    try:
        for label in ("upload", "original"):
            handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".{label}")
            os.close(handle)
            made.append(Path(name))
        incoming, backup = made
        shutil.copyfile(source, incoming)
        shutil.copy2(target, backup)
        os.replace(incoming, target)  # hidden names: the ingest never reads them
        return backup
    except BaseException:
        for path in made:
            path.unlink(missing_ok=True)
        raise


def ingest_one(assistant, item: Placed, progress: Optional[ProgressFn], reports: list) -> Optional[str]:
    """Index one placed upload; the reason it failed, or None."""
    try:
        report = assistant.ingest([item.target], progress=progress)
    except RagError as exc:  # a failed index write (a full disk): undone like any other failure
        return str(exc)
    reports.append(report)
    return report.failed[0][1] if report.failed else None


def undo(assistant, item: Placed) -> None:
    """Put the corpus and the index back as they were before this upload (best effort on a failing disk)."""
    if item.backup is None:
        item.target.unlink(missing_ok=True)
        forget = lambda: assistant.index.delete(doc_id_for(source_name(item.target, assistant.settings.corpus)))  # noqa: E731
    else:
        os.replace(item.backup, item.target)
        forget = lambda: assistant.ingest([item.target])  # noqa: E731  unchanged chunks are skipped, touched ones rewritten
    try:
        forget()
    except RagError:
        pass  # the index is still writable by the next ingest, which repairs a half-written document


def combine(reports: Sequence[IngestReport]) -> IngestReport:
    """One report for several ingests: lists joined, chunks and seconds added."""
    total = IngestReport()
    for report in reports:
        for name in ("added", "updated", "unchanged", "removed", "failed"):
            getattr(total, name).extend(getattr(report, name))
        total.chunks_written += report.chunks_written
        total.seconds += report.seconds
    return total


def read_head(path: Path, size: int = 8192) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def trial_read(path: Path, safe_name: str, reader) -> None:
    """Read the upload under its corpus name, in the reader's worker and within its limits, before it is saved;
    raises DocumentError like the ingest would."""
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / safe_name
        shutil.copyfile(path, trial)
        reader.read(trial, Path(folder))


def delete_document(assistant, doc_id: str) -> str:
    """Remove a document from the index and its file from the corpus folder; returns what was done.

    A link in the corpus folder is removed as a link: its target, wherever it is, is untouched.

    Raises:
        DocumentError: no such document in the index.
    """
    info = next((d for d in assistant.index.documents() if d.doc_id == doc_id), None)
    if info is None:
        raise DocumentError("That document is not in the index (it may have been deleted already).")
    path = entry_path(assistant.index.source_path(info.source))  # a link is the entry: never its target
    inside = path.is_relative_to(assistant.settings.corpus.resolve())
    if inside:
        path.unlink(missing_ok=True)
    assistant.index.delete(doc_id)
    where = ("its file was removed from the corpus folder" if inside
             else f"its file {path.name} lies outside the corpus folder and was kept")
    return f"Deleted “{info.title}”: {where}."

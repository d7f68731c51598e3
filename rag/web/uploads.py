"""Uploads: a safe file name for the corpus folder, type and size checks, then save, index or delete.

An uploaded name comes from the user's machine: it may hold folders, ``..``, control characters
or a misleading type. Only the last path part survives, reduced to letters (any script), digits
and a few punctuation marks, with a supported suffix; the content is sniffed so a binary file
renamed ``.txt`` is refused before it reaches the corpus.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from ..documents import SUPPORTED_SUFFIXES, load_document, looks_binary
from ..errors import DocumentError
from ..index import ProgressFn

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
    if suffix != ".pdf" and looks_binary(head):
        raise DocumentError(f"{shown}: looks like a binary file, not text.")
    return safe


@dataclass
class UploadResult:
    saved: list[str] = field(default_factory=list)  # corpus file names now indexed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (uploaded name, reason)
    summary: str = ""


def add_uploads(assistant, files: Sequence[tuple[str, Path]], progress: Optional[ProgressFn] = None) -> UploadResult:
    """Check, save into the corpus folder and index uploaded files (original name, temporary path).

    A refused file never replaces a corpus file of the same name; a file the index cannot read is
    removed from the corpus again, so the index and the folder stay in step.
    """
    settings, result, placed = assistant.settings, UploadResult(), {}
    for name, path in files:
        try:
            safe = check_upload(name, path.stat().st_size, read_head(path), settings.max_upload_mb)
            trial_read(path, safe)
        except DocumentError as exc:
            result.failed.append((name, str(exc)))
            continue
        settings.corpus.mkdir(parents=True, exist_ok=True)
        target = settings.corpus / safe
        shutil.copyfile(path, target)
        placed[target.resolve()] = name
    if not placed:
        return result
    report = assistant.ingest(list(placed), progress=progress)
    for source, reason in report.failed:
        original = placed.pop(Path(source).resolve(), None)
        if original is not None:
            Path(source).unlink(missing_ok=True)
            result.failed.append((original, reason))
    result.saved = [target.name for target in placed]
    result.summary = report.summary()
    return result


def read_head(path: Path, size: int = 8192) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def trial_read(path: Path, safe_name: str) -> None:
    """Parse the upload under its corpus name before it is saved; raises DocumentError like the ingest would."""
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / safe_name
        shutil.copyfile(path, trial)
        load_document(trial, Path(folder))


def delete_document(assistant, doc_id: str) -> str:
    """Remove a document from the index and its file from the corpus folder; returns what was done.

    Raises:
        DocumentError: no such document in the index.
    """
    info = next((d for d in assistant.index.documents() if d.doc_id == doc_id), None)
    if info is None:
        raise DocumentError("That document is not in the index (it may have been deleted already).")
    path = assistant.index.source_path(info.source).resolve()
    inside = path.is_relative_to(assistant.settings.corpus.resolve())
    if inside:
        path.unlink(missing_ok=True)
    assistant.index.delete(doc_id)
    where = "its file was removed from the corpus folder" if inside else f"its file {path} is outside the corpus and was kept"
    return f"Deleted “{info.title}”: {where}."

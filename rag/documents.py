"""Documents: read .txt, .md, .html, .pdf, .docx and .epub files into clean text with metadata.

Each document gets a stable id (from its path), a title, its source path, its publication date when
one is known (rag/dates.py) and a hash of its content, so re-ingesting can tell unchanged, changed and
deleted files apart.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .dates import first_date, leading_date
from .errors import DocumentError
from .readers import Parsed, front_matter, parse_docx, parse_epub, parse_html

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".epub")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    source: str
    text: str
    content_hash: str
    date: str = ""  # ISO publication date (YYYY-MM-DD, YYYY-MM or YYYY); '' when unknown


def find_documents(paths: list[Path]) -> list[Path]:
    """Supported files under the given files and folders, sorted, hidden files skipped."""
    found = set()
    for path in paths:
        path = Path(path)
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in candidates:
            hidden = any(part.startswith(".") for part in file.relative_to(path).parts) if path.is_dir() else False
            if file.is_file() and not hidden and file.suffix.lower() in SUPPORTED_SUFFIXES:
                found.add(file.resolve())
    return sorted(found)


def doc_id_for(source: str) -> str:
    """Stable id of a document from its source path: ``doc_id_for('a.txt') -> '…16 hex…'``."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def source_name(path: Path, corpus: Path | None) -> str:
    """Path relative to the corpus when inside it (portable ids), else the absolute path."""
    path = Path(path).resolve()
    if corpus is not None:
        try:
            return path.relative_to(Path(corpus).resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def load_document(path: Path, corpus: Path | None = None) -> Document:
    """Read one file into a Document.

    Raises:
        DocumentError: unsupported type, unreadable, binary, encrypted or empty.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path.name}: unsupported file type '{suffix}'; use {', '.join(SUPPORTED_SUFFIXES)}.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path.name}: cannot be read ({exc.strerror or exc}).") from None
    title, text, date = parse_bytes(data, suffix, path.name)
    text = normalize_text(text)
    if not text:
        raise DocumentError(f"{path.name}: holds no readable text.")
    title = normalize_text(title or "").replace("\n", " ")[:200] or title_from_filename(path)
    source = source_name(path, corpus)
    date = first_date(date) or leading_date(text)
    content_hash = hashlib.sha256(f"{title}\n{date}\n{text}".encode("utf-8")).hexdigest()
    return Document(doc_id_for(source), title, source, text, content_hash, date)


def parse_bytes(data: bytes, suffix: str, name: str) -> Parsed:
    """The reader for a file type: (title, text, raw date) of the file's bytes."""
    if suffix == ".pdf":
        return parse_pdf(data, name)
    if suffix == ".docx":
        return parse_docx(data, name)
    if suffix == ".epub":
        return parse_epub(data, name)
    if suffix in (".html", ".htm"):
        return parse_html(decode_text(data, name))
    return parse_plain(decode_text(data, name), markdown=suffix == ".md")


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else Windows-1252; binary data is refused."""
    if looks_binary(data):
        raise DocumentError(f"{name}: looks like a binary file, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def looks_binary(data: bytes) -> bool:
    """True for NUL bytes or many control characters in the first 8 KB: ``looks_binary(b'a\\x00b') -> True``."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return bool(head) and control / len(head) > 0.05


def normalize_text(text: str) -> str:
    """NFC, no control characters, single spaces, at most one blank line between paragraphs.

    ``normalize_text('a \\t b\\r\\n\\n\\n\\nc ') -> 'a b\\n\\nc'``
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"[ \t\u00a0\u2000-\u200b\u3000]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def parse_plain(text: str, markdown: bool) -> Parsed:
    """Title and date from front matter (``title: …``, ``date: …``) or a leading Markdown heading; body without them."""
    title, date = "", ""
    match = FRONT_MATTER.match(text)
    if match:
        fields = front_matter(match.group(1))
        title, date = fields.get("title", ""), fields.get("date", "")
        text = text[match.end():]
    if markdown and not title:
        heading = re.match(r"\s*#\s+(.+)\n", text)
        if heading:
            title = heading.group(1).strip()
            text = text[heading.end():]
    return Parsed(title, text, date)


def parse_pdf(data: bytes, name: str) -> Parsed:
    """Text of every page of a PDF, its title and creation date; encrypted or broken files are refused with a reason."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: the PDF is encrypted; save an unprotected copy and add that.")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
        date = str((reader.metadata or {}).get("/CreationDate") or "")
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, NotImplementedError) as exc:
        raise DocumentError(f"{name}: the PDF cannot be read ({type(exc).__name__}).") from None
    return Parsed(str(title), "\n\n".join(pages), date)


def title_from_filename(path: Path) -> str:
    """``title_from_filename(Path('my-first_article.txt')) -> 'My first article'``."""
    words = re.sub(r"[-_]+", " ", Path(path).stem).strip()
    return (words[:1].upper() + words[1:]) or Path(path).name

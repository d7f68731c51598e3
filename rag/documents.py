"""Documents: read .txt, .md, .html and .pdf files into clean text with metadata.

Each document gets a stable id (from its path), a title, its source path and a hash of its
content, so re-ingesting can tell unchanged, changed and deleted files apart.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import DocumentError

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
HTML_DROP = ("script", "style", "noscript", "template", "svg", "head", "nav", "footer", "form", "iframe")
READER_VERSION = "readers-1"  # recorded with every chunk: change it when a file's bytes give other text, so all are read again


@dataclass(frozen=True)
class Limits:
    """How much one document may expand to, checked while it is read (a small file can hold a huge text)."""
    pages: int = 2000
    chars: int = 2_000_000


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    source: str
    text: str
    content_hash: str


def find_documents(paths: list[Path]) -> list[Path]:
    """Supported files under the given files and folders, sorted; hidden files skipped.

    In a folder, a link is listed under its own name when it leads to a file inside that folder, and
    is not followed when it leads outside it (or to a folder): a link never brings in a file from
    elsewhere, and deleting the link's entry deletes the link, never its target.
    """
    found = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            candidates = [file for file in walk(path) if stays_inside(file, path)]
        else:
            candidates = [path]
        for file in candidates:
            if file.is_file() and file.suffix.lower() in SUPPORTED_SUFFIXES:
                found.add(entry_path(file))
    return sorted(found)


def walk(folder: Path) -> list[Path]:
    """Every file under folder, sorted, hidden files and folders skipped, links to folders not followed."""
    files = []
    for parent, folders, names in os.walk(folder):  # followlinks=False: a linked folder is never entered
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        files += [Path(parent) / name for name in sorted(names) if not name.startswith(".")]
    return files


def stays_inside(file: Path, folder: Path) -> bool:
    """False for a link whose target lies outside folder (a link inside it, or a plain file, is True)."""
    return not file.is_symlink() or file.resolve().is_relative_to(Path(folder).resolve())


def entry_path(path: Path) -> Path:
    """The absolute path of a folder entry itself: its folders resolved, a link at the end kept as the link.

    ``entry_path(Path('corpus/link.md'))`` is ``/…/corpus/link.md`` even when link.md points elsewhere.
    """
    path = Path(path)
    return path.parent.resolve() / path.name


def doc_id_for(source: str) -> str:
    """Stable id of a document from its source path: ``doc_id_for('a.txt') -> '…16 hex…'``."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def source_name(path: Path, corpus: Path | None) -> str:
    """Path relative to the corpus when inside it (portable ids), else the absolute path (a link keeps its own name)."""
    path = entry_path(path)
    if corpus is not None:
        try:
            return path.relative_to(Path(corpus).resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def load_document(path: Path, corpus: Path | None = None, limits: Limits = Limits()) -> Document:
    """Read one file into a Document; any failure of a parser is a DocumentError with one sentence.

    Raises:
        DocumentError: unsupported type, unreadable, binary, encrypted, empty, over a limit, or
            a file its parser fails on.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path.name}: unsupported file type '{suffix}'; use {', '.join(SUPPORTED_SUFFIXES)}.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path.name}: cannot be read ({exc.strerror or exc}).") from None
    try:
        title, text = parse(data, suffix, path.name, limits)
    except DocumentError:
        raise
    except MemoryError:
        raise DocumentError(f"{path.name}: reading it needs more memory than a document may use (RAG_PARSE_MEMORY_MB).") from None
    except RecursionError:
        raise DocumentError(f"{path.name}: its structure is nested too deeply to read.") from None
    except Exception as exc:  # a parser's own failure on a hostile or broken file (pypdf, bs4, …)
        raise DocumentError(f"{path.name}: the file cannot be read ({type(exc).__name__}).") from None
    text = normalize_text(text)
    if not text:
        raise DocumentError(f"{path.name}: holds no readable text.")
    title = normalize_text(title or "").replace("\n", " ")[:200] or title_from_filename(path)
    source = source_name(path, corpus)
    content_hash = hashlib.sha256(f"{title}\n{text}".encode("utf-8")).hexdigest()
    return Document(doc_id_for(source), title, source, text, content_hash)


def parse(data: bytes, suffix: str, name: str, limits: Limits) -> tuple[str, str]:
    """(title, raw text) of a file's bytes by its type, refused as soon as it is over a limit."""
    if suffix == ".pdf":
        return parse_pdf(data, name, limits)
    text = decode_text(data, name)
    if suffix in (".html", ".htm"):  # markup is not text: counted once it is gone (the worker bounds the parse)
        title, body = parse_html(text)
        check_chars(len(body), name, limits)
        return title, body
    check_chars(len(text), name, limits)  # before the parse: it cannot add text
    return parse_plain(text, markdown=suffix == ".md")


def check_chars(count: int, name: str, limits: Limits) -> None:
    """Refuse a document whose text is over the character limit."""
    if count > limits.chars:
        raise DocumentError(f"{name}: holds more than {limits.chars:,} characters of text, the limit "
                            "(RAG_MAX_DOCUMENT_CHARS); split it into smaller files or raise the limit.")


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


def parse_plain(text: str, markdown: bool) -> tuple[str, str]:
    """Title from front matter (``title: …``) or a leading Markdown heading; body without them."""
    title = ""
    match = FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title":
                title = value.strip().strip("\"'")
        text = text[match.end():]
    if markdown and not title:
        heading = re.match(r"\s*#\s+(.+)\n", text)
        if heading:
            title = heading.group(1).strip()
            text = text[heading.end():]
    return title, text


def parse_html(html: str) -> tuple[str, str]:
    """Readable text of an HTML page: scripts, styles and navigation dropped, blocks on their own lines."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup.find_all(HTML_DROP):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    return title, body.get_text("\n", strip=True)


def parse_pdf(data: bytes, name: str, limits: Limits = Limits()) -> tuple[str, str]:
    """Text of every page of a PDF, page by page within the limits; encrypted or broken files are refused."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: the PDF is encrypted; save an unprotected copy and add that.")
        if len(reader.pages) > limits.pages:
            raise DocumentError(f"{name}: {len(reader.pages):,} pages is over the {limits.pages:,}-page limit "
                                "(RAG_MAX_DOCUMENT_PAGES); split it into smaller files or raise the limit.")
        pages, chars = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            check_chars(chars, name, limits)
        title = (reader.metadata.title if reader.metadata else None) or ""
    except DocumentError:
        raise
    except LimitReachedError:
        raise DocumentError(f"{name}: the PDF is built to expand past the PDF reader's safety limits, "
                            "so it is not read.") from None
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise DocumentError(f"{name}: the PDF cannot be read ({type(exc).__name__}).") from None
    return str(title), "\n\n".join(pages)


def title_from_filename(path: Path) -> str:
    """``title_from_filename(Path('my-first_article.txt')) -> 'My first article'``."""
    words = re.sub(r"[-_]+", " ", Path(path).stem).strip()
    return (words[:1].upper() + words[1:]) or Path(path).name

"""Documents: read .txt, .md, .html and .pdf files into clean text with metadata.

Each document gets a stable id (from its path), a title, its source path and a hash of its
content, so re-ingesting can tell unchanged, changed and deleted files apart.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import DocumentError

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
HTML_DROP = ("script", "style", "noscript", "template", "svg", "head", "nav", "footer", "form", "iframe")


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    source: str
    text: str
    content_hash: str


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
    if suffix == ".pdf":
        title, text = parse_pdf(data, path.name)
    elif suffix in (".html", ".htm"):
        title, text = parse_html(decode_text(data, path.name))
    else:
        title, text = parse_plain(decode_text(data, path.name), markdown=suffix == ".md")
    text = normalize_text(text)
    if not text:
        raise DocumentError(f"{path.name}: holds no readable text.")
    title = normalize_text(title or "").replace("\n", " ")[:200] or title_from_filename(path)
    source = source_name(path, corpus)
    content_hash = hashlib.sha256(f"{title}\n{text}".encode("utf-8")).hexdigest()
    return Document(doc_id_for(source), title, source, text, content_hash)


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


def parse_pdf(data: bytes, name: str) -> tuple[str, str]:
    """Text of every page of a PDF; encrypted or broken files are refused with a reason."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: the PDF is encrypted; save an unprotected copy and add that.")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, NotImplementedError) as exc:
        raise DocumentError(f"{name}: the PDF cannot be read ({type(exc).__name__}).") from None
    return str(title), "\n\n".join(pages)


def title_from_filename(path: Path) -> str:
    """``title_from_filename(Path('my-first_article.txt')) -> 'My first article'``."""
    words = re.sub(r"[-_]+", " ", Path(path).stem).strip()
    return (words[:1].upper() + words[1:]) or Path(path).name

"""Pages: a fetched web page as a Markdown file for the corpus, and a fetched feed as its entries' links.

The corpus stays a folder of files: a fetched page becomes ``<title>.md`` with its title, publication
date, source URL and fetch date in front matter, and its main text (rag/readers.py) as the body. The page's
bytes are read in the sandboxed worker that reads uploads (rag/sandbox.py), under the same limits of memory,
time and characters, and so are a feed's: a hostile page costs the worker, never the app.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .dates import first_date
from .documents import decode_text, looks_binary, normalize_text
from .errors import DocumentError
from .fetch import Fetched, shown


def decode_page(body: bytes, charset: str, url: str) -> str:
    """A page's text: in the charset its server declared (or its byte-order mark shows) when Python knows it as a
    text encoding, else UTF-8 or Windows-1252 as for files; undecodable bytes become U+FFFD, never an error.

    ``decode_page('café'.encode('latin-1'), 'iso-8859-1', 'u') -> 'café'``; ``decode_page(b'caf\\xc3\\xa9', 'bogus', 'u') -> 'café'``;
    ``decode_page('hé'.encode('utf-16'), '', 'u') -> 'hé'``

    Raises:
        DocumentError: binary data (NUL bytes, control characters) in a page that declares no UTF-16 or UTF-32.
    """
    try:
        codec = codecs.lookup(charset).name if charset else ""
    except LookupError:
        codec = ""  # an unknown name: read it as a file would be
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        codec = "utf-32"
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
    if codec.startswith(("utf-16", "utf-32")):
        return body.decode(codec, errors="replace").lstrip("\ufeff")
    if looks_binary(body):
        raise DocumentError(f"{shown(url)}: this is binary data, not a web page.")
    if codec and codec not in ("utf-8", "ascii"):
        try:
            return body.decode(codec, errors="replace")
        except LookupError:  # a codec that is not a text encoding ('base64', 'zlib'…)
            pass
    return decode_text(body, shown(url))


def read_page(body: bytes, url: str, content_type: str, charset: str, max_chars: int) -> tuple[str, str, str]:
    """(title, text, date) of a page's bytes: its main text (readers.parse_html), or the text itself for text/plain.

    Runs in the worker (sandbox.serve). Raises DocumentError: binary, or over max_chars.
    """
    from .readers import parse_html

    decoded = decode_page(body, charset, url)
    if content_type == "text/plain":
        title, text, date = "", decoded, ""
    else:
        title, text, date = parse_html(decoded, url)
    if len(text) > max_chars:
        raise DocumentError(f"{shown(url)}: its text is over the {max_chars:,}-character limit (RAG_MAX_DOCUMENT_CHARS).")
    return title, text, date


def page_markdown(page: Fetched, source: str, reader) -> tuple[str, str]:
    """(file name, Markdown) of a fetched page, read by the reader's worker: its main text under front matter
    naming where it came from. ``source`` is the link as given (before redirects); the final URL is kept when
    they differ.

    Raises:
        DocumentError: the page cannot be read within the worker's limits, or holds no text.
    """
    title, text, date = reader.read_page(page)
    text = normalize_text(text)
    if not text:
        raise DocumentError(f"{shown(page.url)}: the page holds no readable text.")
    title = normalize_text(title).replace("\n", " ")[:200] or title_from_url(page.url)
    fields = {"title": title, "date": first_date(date), "source": source or page.url,
              "url": page.url if source and source != page.url else "", "fetched": page.fetched_at}
    lines = [f"{key}: {quoted(value)}" for key, value in fields.items() if value]
    return file_name_for(title), "---\n" + "\n".join(lines) + "\n---\n" + text + "\n"


def quoted(value: str) -> str:
    """A front-matter value on one line, quoted: ``quoted('A "B"') -> '"A \\'B\\'"'``."""
    return '"' + value.replace("\n", " ").replace('"', "'") + '"'


def title_from_url(url: str) -> str:
    """``title_from_url('https://x.org/news/port-strike-ends.html') -> 'port strike ends'``."""
    last = [part for part in urlsplit(url).path.split("/") if part]
    stem = re.sub(r"\.[a-z0-9]{2,5}$", "", last[-1] if last else urlsplit(url).hostname or "page")
    return re.sub(r"[-_+]+", " ", stem).strip() or "page"


def file_name_for(title: str) -> str:
    """A short file name from a title (uploads.safe_file_name makes it safe): ``'Port strike: ends' -> 'Port strike ends.md'``."""
    words = re.sub(r"[^\w\s-]+", " ", title).split()
    return (" ".join(words)[:80].strip() or "page") + ".md"


def read_feed(body: bytes, url: str) -> list[str]:
    """The http(s) links of a feed's entries, in feed order, without repeats. Runs in the worker (sandbox.serve).

    Raises DocumentError: broken XML with nothing usable in it (an empty, well-formed feed is just empty).
    """
    import feedparser

    parsed = feedparser.parse(body)
    links, seen = [], set()
    for entry in parsed.entries:
        link = urljoin(url, entry.get("link") or "") if entry.get("link") else ""
        if urlsplit(link).scheme in ("http", "https") and link not in seen:
            links.append(link)
            seen.add(link)
    if parsed.bozo and not links:
        raise DocumentError(f"{shown(url)}: this is not an RSS or Atom feed that can be read.")
    return links


def known_sources(corpus: Path) -> set[str]:
    """The source URLs of the pages already fetched into the corpus (their front matter's ``source:``)."""
    found = set()
    for path in Path(corpus).rglob("*.md") if Path(corpus).is_dir() else []:
        with open(path, encoding="utf-8", errors="replace") as file:
            head = file.read(4096)
        match = re.search(r'^source: "?([^"\n]+)"?$', head.split("\n---", 1)[0], re.M) if head.startswith("---") else None
        if match:
            found.add(match.group(1).strip())
    return found

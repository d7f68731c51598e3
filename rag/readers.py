"""Readers for the formats that need a library: web pages (trafilatura), Word (.docx) and e-books (.epub).

Each reader takes the file's content and gives back a documents.Parsed (title, text, raw date), or
raises DocumentError with one sentence. A saved news page keeps its menus, cookie banners, share
buttons and comments; trafilatura keeps the article (measured against BeautifulSoup in
docs/extraction.md), and BeautifulSoup reads what it finds no main text in.
"""
from __future__ import annotations

import io
import zipfile
from typing import NamedTuple

from .dates import first_date
from .errors import DocumentError

HTML_DROP = ("script", "style", "noscript", "template", "svg", "head", "nav", "footer", "form", "iframe")



class Parsed(NamedTuple):
    """What a reader gives back: title, text and publication date (raw, parsed by dates.parse_date)."""
    title: str
    text: str
    date: str = ""

def front_matter(block: str) -> dict[str, str]:
    """``key: value`` lines of a front-matter block, keys lower-cased, quotes stripped.

    ``front_matter('title: "A"\nDate: 2019-07-28') -> {'title': 'A', 'date': '2019-07-28'}``
    """
    fields = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields.setdefault(key.strip().lower(), value.strip().strip("\"'"))
    return fields


def parse_html(html: str, url: str | None = None) -> Parsed:
    """Main text, title and publication date of a web page (trafilatura, htmldate for the date).

    Falls back to BeautifulSoup when trafilatura finds no main text (a page that is all list, a fragment).
    """
    extracted = extract_article(html, url)
    return parse_html_soup(html) if extracted is None else Parsed(*extracted)


def extract_article(html: str, url: str | None = None) -> tuple[str, str, str] | None:
    """(title, main text, date) by trafilatura, or None when it finds no main text."""
    import trafilatura

    try:
        found = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                            include_tables=True, date_extraction_params={
                                                "extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%d"})
    except (ValueError, TypeError, AttributeError, RecursionError):  # lxml on a broken tree
        return None
    if found is None or not (found.text or "").strip():
        return None
    return found.title or "", found.text, found.date or ""


def parse_docx(data: bytes, name: str) -> Parsed:
    """Paragraphs and tables of a Word file, its title and its date (created, else last modified)."""
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DocumentError(f"{name}: the Word file cannot be read ({type(exc).__name__}); "
                            "open and save it again in Word or LibreOffice, or save it as PDF.") from None
    except Exception as exc:  # python-docx raises its own PackageNotFoundError and lxml errors
        raise DocumentError(f"{name}: the Word file cannot be read ({type(exc).__name__}).") from None
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        blocks += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    props = document.core_properties
    return Parsed(props.title or "", "\n\n".join(blocks), props.created or props.modified or "")


def parse_epub(data: bytes, name: str) -> Parsed:
    """Text of every chapter of an e-book in reading order, its title and date (Dublin Core metadata)."""
    import ebooklib
    from ebooklib import epub

    try:
        book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
    except Exception as exc:  # ebooklib raises bare exceptions, zipfile and lxml errors for a broken book
        raise DocumentError(f"{name}: the e-book cannot be read ({type(exc).__name__}); "
                            "check that it is an EPUB file and not protected by DRM.") from None
    chapters = []
    for item_id, _ in book.spine:
        item = book.get_item_with_id(item_id)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            chapters.append(parse_html_soup(item.get_content().decode("utf-8", errors="replace")).text)
    return Parsed(dc_value(book, "title"), "\n\n".join(chapters), dc_value(book, "date"))


def dc_value(book, field: str) -> str:
    """The first Dublin Core value of a field of an e-book, '' when it has none."""
    values = book.get_metadata("DC", field)
    return str(values[0][0]) if values and values[0] and values[0][0] else ""

def parse_html_soup(html: str) -> Parsed:
    """Readable text of an HTML page by BeautifulSoup: scripts, styles and navigation dropped, blocks on
    their own lines; the date from the usual meta tags. The fallback when trafilatura finds no main text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    dated = soup.find("meta", attrs={"property": "article:published_time"}) or soup.find("meta", attrs={"name": "date"})
    time_tag = soup.find("time", attrs={"datetime": True})
    date = first_date(dated.get("content") if dated else "", time_tag.get("datetime") if time_tag else "")
    for tag in soup.find_all(HTML_DROP):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    return Parsed(title, body.get_text("\n", strip=True), date)

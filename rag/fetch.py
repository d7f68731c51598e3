"""Fetch: a web page or a feed by its link, read like a reader would, as a Markdown file for the corpus.

The corpus stays a folder of files: a fetched page becomes ``<title>.md`` with its title, publication
date, author, site, source URL and fetch date in front matter, and its main text (rag/readers.py) as
the body. Fetching is bounded everywhere: only http and https, a connect/read timeout, at most
MAX_REDIRECTS redirects (a loop is named as one), a size limit read as the bytes arrive, and a
content-type check. Every failure is one sentence (DocumentError); with no network the sentence says
what to do instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .dates import first_date
from .documents import decode_text, normalize_text
from .errors import DocumentError
from .readers import parse_html

MAX_REDIRECTS = 5
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/feed+json")
OFFLINE = "this machine has no network connection: save the page as a file and upload it."
USER_AGENT = "rag-news-assistant/1.0 (+local question answering over saved articles)"


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes
    fetched_at: str  # ISO date of the fetch


def check_url(url: str) -> str:
    """The link, stripped, when it is an http or https URL with a host; else one sentence.

    ``check_url(' https://example.org/a ') -> 'https://example.org/a'``; ``check_url('file:///etc/passwd')`` raises.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DocumentError(f"{url[:200] or 'The link'}: only http:// and https:// links can be added.")
    return url


def fetch(url: str, max_mb: float, timeout_s: float, accept: tuple[str, ...] = PAGE_TYPES) -> Fetched:
    """GET a link, following at most MAX_REDIRECTS redirects, reading at most max_mb.

    Raises:
        DocumentError: not http(s), offline, unreachable, timed out, an error status, a redirect loop,
            too large, or a content type not in accept.
    """
    import httpx

    url, seen = check_url(url), []
    with httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False,
                      headers={"User-Agent": USER_AGENT}) as client:
        while True:
            seen.append(url)
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = next_hop(url, response.headers["location"], seen)
                        continue
                    return read_response(url, response, max_mb, accept)
            except httpx.TimeoutException:
                raise DocumentError(f"{url}: no answer within {timeout_s:g} s; try again later.") from None
            except httpx.ConnectError:
                raise DocumentError(f"{url}: cannot connect. {unreachable(url)}") from None
            except httpx.HTTPError as exc:
                raise DocumentError(f"{url}: the download failed ({type(exc).__name__}).") from None


def unreachable(url: str) -> str:
    """Why a host did not answer: on loopback nothing listens; elsewhere, most likely, no network."""
    host = urlsplit(url).hostname or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        return "Nothing is listening at that address."
    return OFFLINE[:1].upper() + OFFLINE[1:]


def next_hop(url: str, location: str, seen: list[str]) -> str:
    """Where a redirect leads, checked: http(s) only, no loop, at most MAX_REDIRECTS hops.

    ``next_hop('http://a/x', '/y', ['http://a/x']) -> 'http://a/y'``
    """
    target = check_url(urljoin(url, location))
    if target in seen:
        raise DocumentError(f"{seen[0]}: the site redirects in a loop ({url} → {target}).")
    if len(seen) > MAX_REDIRECTS:
        raise DocumentError(f"{seen[0]}: more than {MAX_REDIRECTS} redirects; open it in a browser and save the page.")
    return target


def read_response(url: str, response, max_mb: float, accept: tuple[str, ...]) -> Fetched:
    """The body of a final response, after its status, type and size are checked."""
    if response.status_code >= 400:
        raise DocumentError(f"{url}: the site answered {response.status_code} {response.reason_phrase}.")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in accept:
        raise DocumentError(f"{url}: this is {content_type or 'an unknown type'}, not a web page or feed; "
                            "download it and upload the file instead.")
    limit = int(max_mb * 2**20)
    if int(response.headers.get("content-length") or 0) > limit:
        raise DocumentError(f"{url}: the page is over the {max_mb:g} MB limit.")
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > limit:
            raise DocumentError(f"{url}: the page is over the {max_mb:g} MB limit.")
    return Fetched(url, content_type, bytes(body), datetime.now(timezone.utc).date().isoformat())


def page_markdown(page: Fetched, source: str = "") -> tuple[str, str]:
    """(file name, Markdown) of a fetched page: its main text under front matter naming where it came from.

    ``source`` is the link as given (before redirects); the final URL is kept when they differ.
    """
    html = decode_text(page.body, page.url)
    title, text, date = parse_html(html, page.url) if page.content_type != "text/plain" else ("", html, "")
    text = normalize_text(text)
    if not text:
        raise DocumentError(f"{page.url}: the page holds no readable text.")
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


def feed_links(feed: Fetched) -> list[str]:
    """The http(s) links of a feed's entries, in feed order, without repeats."""
    import feedparser

    parsed = feedparser.parse(feed.body)
    links = []
    for entry in parsed.entries:
        link = urljoin(feed.url, entry.get("link") or "") if entry.get("link") else ""
        if urlsplit(link).scheme in ("http", "https") and link not in links:
            links.append(link)
    if parsed.bozo and not links:  # broken XML with nothing usable in it; an empty, well-formed feed is just empty
        raise DocumentError(f"{feed.url}: this is not an RSS or Atom feed that can be read.")
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

"""Fetch: a web page or a feed by its link, over HTTP, bounded in where it goes, how long and how much.

Only http and https. Every host is resolved and checked (rag/addresses.py) when its connection is made,
and the connection goes to the address just checked, so a second DNS answer cannot lead elsewhere; each
redirect (at most MAX_REDIRECTS, a loop named as one) is a new request, checked the same way. The page has
one deadline for everything, from the name lookup to its last byte (``fetch_deadline_s``): every wait on
the network is cut to the time left, so a server sending a byte now and then cannot hold it longer.
The size limit holds on the bytes as they are decompressed (gzip and deflate only, inflated here a piece at
a time, so a small bomb cannot expand in memory). Every failure is one sentence (DocumentError); with no
network the sentence says what to do instead. Reading the page or feed is the sandboxed worker's
(rag/pages.py).
"""
from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .addresses import Reach, check_spelling
from .errors import DocumentError

MAX_REDIRECTS = 5
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/feed+json")
OFFLINE = "this machine has no network connection: save the page as a file and upload it."
USER_AGENT = "rag-news-assistant/1.0 (+local question answering over saved articles)"
SHOWN_URL_CHARS = 200


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes
    fetched_at: str  # ISO date of the fetch
    charset: str = ""  # as the Content-Type header declares it; '' when it does not


class Deadline:
    """A moment by which something must be done: ``Deadline(60).left()`` counts down from 60 s."""

    def __init__(self, seconds: float, clock=time.monotonic):
        self.seconds, self.clock, self.end = float(seconds), clock, clock() + float(seconds)

    def left(self) -> float:
        return self.end - self.clock()

    def passed(self) -> bool:
        return self.left() <= 0

    def cap(self, timeout: Optional[float]) -> float:
        """A wait cut to the time left (never zero, which a socket reads as 'do not wait'): ``cap(15)`` with 2 s left -> 2."""
        return max(min(timeout if timeout is not None else float("inf"), self.left()), 0.001)

    def sooner(self, seconds: float) -> "Deadline":
        """This deadline or one ``seconds`` from now, whichever comes first (a page's own, inside a feed's)."""
        other = Deadline(seconds, self.clock)
        return other if other.end < self.end else self


def shown(url: str) -> str:
    """A link as a sentence names it: at most SHOWN_URL_CHARS characters."""
    return url if len(url) <= SHOWN_URL_CHARS else url[:SHOWN_URL_CHARS - 1] + "…"


def check_url(url: str) -> str:
    """The link, stripped, when it is a valid http or https URL with a host; else one sentence.

    ``check_url(' https://example.org/a ') -> 'https://example.org/a'``; ``check_url('file:///etc/passwd')`` raises.
    """
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host, scheme = parts.hostname, parts.scheme.lower()
        parts.port  # noqa: B018  raises ValueError for a port out of range
    except ValueError as exc:
        raise DocumentError(f"{shown(url)}: this is not a valid link ({exc}).") from None
    if scheme not in ("http", "https") or not host:
        raise DocumentError(f"{shown(url) or 'The link'}: only http:// and https:// links can be added.")
    check_spelling(shown(url), host)
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise DocumentError(f"{shown(url)}: this is not a valid link (it holds a space or a control character).")
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise DocumentError(f"{shown(url)}: this is not a valid link ({str(exc)[:100] or type(exc).__name__}).") from None
    return url


class TimedStream(httpcore.NetworkStream):
    """A connection whose every wait is cut to the deadline's time left: reads, writes and the TLS handshake."""

    def __init__(self, stream, deadline: Deadline):
        self.stream, self.deadline = stream, deadline

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if self.deadline.passed():
            raise httpcore.ReadTimeout("the page's deadline passed")
        return self.stream.read(max_bytes, self.deadline.cap(timeout))

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        if self.deadline.passed():
            raise httpcore.WriteTimeout("the page's deadline passed")
        self.stream.write(buffer, self.deadline.cap(timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname: Optional[str] = None, timeout: Optional[float] = None):
        return TimedStream(self.stream.start_tls(ssl_context, server_hostname, self.deadline.cap(timeout)), self.deadline)

    def get_extra_info(self, info: str):
        return self.stream.get_extra_info(info)


class CheckedBackend(httpcore.SyncBackend):
    """Connects a host only to the addresses Reach checked for it, a moment before, within the deadline.

    ``label`` is the link the sentences name (the hop being fetched, and where it was redirected from)."""

    def __init__(self, reach: Reach, deadline: Deadline):
        self.reach, self.deadline, self.label = reach, deadline, ""

    def connect_tcp(self, host: str, port: int, timeout: Optional[float] = None, local_address: Optional[str] = None,
                    socket_options=None):
        failure: Optional[Exception] = None
        for address in self.reach.addresses(self.label, host, port, self.deadline.left()):
            if self.deadline.passed():
                break
            try:
                stream = super().connect_tcp(str(address), port, self.deadline.cap(timeout), local_address, socket_options)
                return TimedStream(stream, self.deadline)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:  # the next address, if any
                failure = exc
        raise failure or httpcore.ConnectTimeout("the page's deadline passed")


def transport_for(backend: CheckedBackend) -> httpx.HTTPTransport:
    """An httpx transport whose connections go through backend (no proxy, no environment). It is used directly,
    without httpx.Client, whose redirect handling parses a Location header before anyone can check it."""
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),  # noqa: SLF001
                                              network_backend=backend, max_connections=2)  # httpx has no public hook for it
    return transport


def get(transport: httpx.HTTPTransport, url: str, timeout_s: float, deadline: Deadline) -> httpx.Response:
    """One GET through the transport: the response with its body still to be read (close it)."""
    request = httpx.Request("GET", url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
                            extensions={"timeout": deadline_timeouts(timeout_s, deadline)})
    response = transport.handle_request(request)
    response.request = request
    return response


def fetch(url: str, max_mb: float, timeout_s: float, accept: tuple[str, ...] = PAGE_TYPES, *,
          reach: Reach = Reach(), deadline: Optional[Deadline] = None) -> Fetched:
    """GET a link within the reach, following at most MAX_REDIRECTS redirects, reading at most max_mb, by the deadline.

    Raises:
        AddressError: the link (or a redirect) leads where fetching may not go.
        DocumentError: not a valid http(s) link, offline, unreachable, too slow, an error status, a redirect loop,
            too large, or a content type not in accept.
    """
    first = url = check_url(url)
    deadline = deadline or Deadline(60.0)
    seen: list[str] = []
    backend = CheckedBackend(reach, deadline)
    with transport_for(backend) as transport:
        while True:
            seen.append(url)
            backend.label = shown(url) if url == first else f"{shown(first)} (redirected to {shown(url)})"
            try:
                response = get(transport, url, timeout_s, deadline)
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = next_hop(url, response.headers["location"], seen)
                        continue
                    return read_response(url, response, max_mb, accept)
                finally:
                    response.close()
            except httpx.TimeoutException:
                if deadline.passed():
                    raise DocumentError(f"{shown(first)}: the page did not arrive within {deadline.seconds:g} s, the limit "
                                        "(RAG_FETCH_DEADLINE_S); try again later, or save it as a file and upload it.") from None
                raise DocumentError(f"{shown(url)}: no answer within {timeout_s:g} s; try again later.") from None
            except httpx.ConnectError:
                raise DocumentError(f"{shown(url)}: cannot connect. {unreachable(url)}") from None
            except (httpx.HTTPError, httpx.InvalidURL, httpcore.UnsupportedProtocol) as exc:
                raise DocumentError(f"{shown(url)}: the download failed ({type(exc).__name__}).") from None


def deadline_timeouts(timeout_s: float, deadline: Deadline) -> dict:
    """httpx's per-request timeouts, each cut to the deadline's time left (the streams cut every later wait)."""
    wait = deadline.cap(timeout_s)
    return {"connect": wait, "read": wait, "write": wait, "pool": wait}


def unreachable(url: str) -> str:
    """Why a host did not answer: on loopback nothing listens; elsewhere, most likely, no network."""
    host = urlsplit(url).hostname or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        return "Nothing is listening at that address."
    return OFFLINE[:1].upper() + OFFLINE[1:]


def next_hop(url: str, location: str, seen: list[str]) -> str:
    """Where a redirect leads, checked: a valid http(s) link, no loop, at most MAX_REDIRECTS hops.

    ``next_hop('http://a/x', '/y', ['http://a/x']) -> 'http://a/y'``
    """
    try:
        target = check_url(urljoin(url, location.strip()))
    except (DocumentError, ValueError):
        raise DocumentError(f"{shown(seen[0])}: the site redirects to {shown(location.strip()) or 'nowhere'}, which is "
                            "not an http:// or https:// link that can be fetched.") from None
    if target in seen:
        raise DocumentError(f"{shown(seen[0])}: the site redirects in a loop ({shown(url)} → {shown(target)}).")
    if len(seen) > MAX_REDIRECTS:
        raise DocumentError(f"{shown(seen[0])}: more than {MAX_REDIRECTS} redirects; open it in a browser and save the page.")
    return target


def content_type_of(header: str) -> tuple[str, str]:
    """(type, charset) of a Content-Type header: ``content_type_of('text/html; charset="UTF-8"') -> ('text/html', 'utf-8')``."""
    kind = header.split(";")[0].strip().lower()
    found = re.search(r";\s*charset\s*=\s*\"?([^\";\s]+)", header, re.IGNORECASE)
    return kind, found.group(1).lower() if found else ""


def read_response(url: str, response, max_mb: float, accept: tuple[str, ...]) -> Fetched:
    """The body of a final response, after its status, type, encoding and size are checked."""
    if response.status_code >= 400:
        raise DocumentError(f"{shown(url)}: the site answered {response.status_code} {response.reason_phrase}.")
    content_type, charset = content_type_of(response.headers.get("content-type", ""))
    if content_type not in accept:
        raise DocumentError(f"{shown(url)}: this is {content_type[:80] or 'an unknown type'}, not a web page or feed; "
                            "download it and upload the file instead.")
    limit = int(max_mb * 2**20)
    too_large = DocumentError(f"{shown(url)}: the page is over the {max_mb:g} MB limit.")
    if (response.headers.get("content-length") or "").strip().isdigit() and int(response.headers["content-length"]) > limit:
        raise too_large
    inflater = Inflater(url, response.headers.get("content-encoding", ""))
    body = bytearray()
    for piece in response.iter_raw():
        body += inflater.feed(piece, limit - len(body))
        if len(body) > limit:
            raise too_large
    return Fetched(url, content_type, bytes(body), datetime.now(timezone.utc).date().isoformat(), charset)


class Inflater:
    """Undoes a Content-Encoding of gzip or deflate a piece at a time, never producing more than it is asked for."""

    def __init__(self, url: str, encoding: str):
        self.url, coding = url, encoding.strip().lower()
        if coding in ("", "identity"):
            self.inflate = None
        elif coding in ("gzip", "x-gzip"):
            self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self.inflate, self.raw = zlib.decompressobj(), False
        else:
            raise DocumentError(f"{shown(url)}: the site sent the page encoded as '{coding[:40]}', which is not read "
                                "(only gzip and deflate); save it as a file and upload it.")
        self.coding = coding

    def feed(self, data: bytes, room: int) -> bytes:
        """The bytes data decodes to, at most room + 1 (one more than room says: over the limit)."""
        if self.inflate is None or not data:
            return data
        try:
            return self.inflate.decompress(data, max(room, 0) + 1)
        except zlib.error:
            if self.coding == "deflate" and not self.raw:  # some servers send deflate without its zlib header
                self.inflate, self.raw = zlib.decompressobj(-zlib.MAX_WBITS), True
                return self.feed(data, room)
            raise DocumentError(f"{shown(self.url)}: the page's {self.coding} bytes are damaged, so it cannot be read.") from None

"""Who may use the app: anyone on this machine by default; a password whenever it listens beyond it.

The page is behind Gradio's login; the routes added beside it (the OpenAI-compatible ``/v1`` and the MCP
server) are not, so ``BearerGate`` asks them for ``Authorization: Bearer <key>`` under the same rule. Beyond
loopback a password or key is at least MIN_SECRET characters, and failed logins and keys are throttled per
client (``Throttle``, counted as each attempt arrives): after FREE_FAILURES, each attempt waits twice as long as
the one before, up to a minute.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import time
from typing import Callable, Optional

from ..errors import SettingsError
from ..settings import Settings

log = logging.getLogger("rag.web")
API_PATHS = ("/v1/", "/gradio_api/mcp")  # what BearerGate guards: the OpenAI face and the MCP server
MIN_SECRET = 12  # characters of a password or API key beyond loopback
FREE_FAILURES = 5  # failed attempts per client before the waits begin
LONGEST_WAIT_S = 60.0
FORGET_S = 900.0  # a client's failures are forgotten after this long without one


def is_loopback(host: str) -> bool:
    """``is_loopback('127.0.0.1') -> True``; ``is_loopback('0.0.0.0') -> False``; ``is_loopback('[::1]') -> True``."""
    host = host.strip("[]")
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(settings: Settings) -> Optional[tuple[str, str]]:
    """Gradio auth for the host: none on loopback, ("rag", password) elsewhere.

    Raises:
        SettingsError: a non-loopback host without a password.
    """
    if is_loopback(settings.host):
        return ("rag", settings.password) if settings.password else None
    if not settings.password:
        raise SettingsError(f"Refusing to listen on {settings.host} without a password: anyone on the network could "
                            "use the chat. Set RAG_PASSWORD (the user name is 'rag'), or bind to 127.0.0.1.")
    for name, secret in (("RAG_PASSWORD", settings.password), ("RAG_API_KEY", settings.api_key)):
        if secret is not None and len(secret) < MIN_SECRET:
            raise SettingsError(f"Refusing to listen on {settings.host} with a {len(secret)}-character {name}: beyond "
                                f"this machine it must be at least {MIN_SECRET} characters, so that it cannot be "
                                "guessed. Choose a longer one, or bind to 127.0.0.1.")
    return ("rag", settings.password)


def api_key(settings: Settings) -> Optional[str]:
    """The Bearer key the /v1 and MCP routes require, or None when they are open (loopback, no password).

    Same rule as the page, which asks for a login whenever a password is set (always, beyond loopback).
    ``api_key(Settings()) -> None``; ``api_key(Settings(host='0.0.0.0', password='pw')) -> 'pw'``;
    ``api_key(Settings(password='pw', api_key='k' * 8)) -> 'kkkkkkkk'`` (RAG_API_KEY wins when set).
    """
    return settings.api_key or settings.password


def bearer_matches(header: Optional[str], key: str) -> bool:
    """Whether an Authorization header carries the key, compared in constant time.

    ``bearer_matches('Bearer s3cret', 's3cret') -> True``; ``bearer_matches('s3cret', 's3cret') -> False``;
    ``bearer_matches(None, 's3cret') -> False``.
    """
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key.encode())


def guarded(path: str) -> bool:
    """``guarded('/v1/chat/completions') -> True``; ``guarded('/gradio_api/mcp/') -> True``; ``guarded('/') -> False``."""
    return path == "/v1" or path.startswith(API_PATHS)


def wait_after(failures: int) -> float:
    """Seconds a client waits after its last failed attempt: none for the first FREE_FAILURES, then doubling.

    ``[wait_after(n) for n in (4, 5, 6, 7, 20)] -> [0.0, 1.0, 2.0, 4.0, 60.0]``
    """
    return 0.0 if failures < FREE_FAILURES else min(LONGEST_WAIT_S, 2.0 ** (failures - FREE_FAILURES))


class Throttle:
    """Failed logins and keys per client address; a success forgets them.

    An attempt counts as failed the moment it arrives (``attempt``) and is forgiven if it succeeds, so attempts
    sent all at once are counted before any is answered: only FREE_FAILURES of them get through.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.failures: dict[str, tuple[int, float]] = {}  # client -> (failed attempts, time of the last)

    def wait(self, client: str) -> float:
        """Seconds before client may try again (0: now)."""
        count, last = self.failures.get(client, (0, 0.0))
        return max(0.0, last + wait_after(count) - self.clock())

    def attempt(self, client: str) -> float:
        """An attempt arrives: the seconds it must wait (0: it goes ahead, counted as failed until it succeeds).

        With FREE_FAILURES = 5: six attempts at once -> ``[0, 0, 0, 0, 0, 1.0]`` seconds to wait.
        """
        wait = self.wait(client)
        if not wait:
            self.failed(client)
        return wait

    def failed(self, client: str) -> None:
        now = self.clock()
        if len(self.failures) > 10_000:  # a scan of many addresses must not grow this without bound
            self.failures = {c: f for c, f in self.failures.items() if now - f[1] < FORGET_S}
        count, last = self.failures.get(client, (0, now))
        self.failures[client] = (1 if now - last > FORGET_S else count + 1, now)

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)


def too_many(wait: float):
    """The 429 for a throttled client, OpenAI-style (the login page shows ``detail``)."""
    from starlette.responses import JSONResponse

    seconds = max(1, math.ceil(wait))
    message = f"Too many failed attempts from this address; try again in {seconds} s."
    body = {"detail": message, "error": {"message": message, "type": "rate_limit_error", "param": None,
                                         "code": "too_many_attempts"}}
    return JSONResponse(body, 429, headers={"Retry-After": str(seconds)})


def is_login(scope) -> bool:
    """``is_login({'method': 'POST', 'path': '/login/'}) -> True``: Gradio's login form posts there."""
    return scope.get("method") == "POST" and scope.get("path", "").rstrip("/").endswith("/login")


class BearerGate:
    """ASGI middleware: the /v1 and MCP routes answer 401 without ``Authorization: Bearer <key>`` (key None: open);
    failed keys and page logins are throttled per client (429 with Retry-After while it must wait)."""

    def __init__(self, app, key: Optional[str], throttle: Optional[Throttle] = None):
        self.app, self.key, self.throttle = app, key, throttle or Throttle()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown",))[0]
        if is_login(scope):
            if wait := self.throttle.attempt(client):  # counted now, as failed, until Gradio answers success
                return await too_many(wait)(scope, receive, send)
            return await self.quietly(scope, receive, self.watch_login(send, client))
        if self.key and guarded(scope.get("path", "")):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            header = headers.get("authorization")
            if header is not None and (wait := self.throttle.attempt(client)):  # no key sent: not a guess
                return await too_many(wait)(scope, receive, send)
            if not bearer_matches(header, self.key):
                from starlette.responses import JSONResponse

                body = {"error": {"message": "This server needs an API key: send 'Authorization: Bearer <key>' "
                                             "(RAG_API_KEY if set, otherwise RAG_PASSWORD).",
                                  "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
                return await JSONResponse(body, 401, headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
            self.throttle.succeeded(client)
        await self.quietly(scope, receive, send)

    async def quietly(self, scope, receive, send) -> None:
        """Run the app; a client that went away mid-request is one line in the log, not a traceback."""
        from starlette.requests import ClientDisconnect

        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            log.info("%s %s: the client went away before sending its whole request", scope.get("method"),
                     scope.get("path"))

    def watch_login(self, send, client: str):
        """send, forgiving the attempt counted on arrival when Gradio's login answers success (200)."""
        async def watched(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                self.throttle.succeeded(client)
            await send(message)
        return watched

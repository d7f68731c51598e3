"""Who may use the app: anyone on this machine by default; a password whenever it listens beyond it.

The page is behind Gradio's login; the routes added beside it (the OpenAI-compatible ``/v1`` and the MCP
server) are not, so ``BearerGate`` asks them for ``Authorization: Bearer <key>`` under the same rule.
"""
from __future__ import annotations

import hmac
import ipaddress
from typing import Optional

from ..errors import SettingsError
from ..settings import Settings

API_PATHS = ("/v1/", "/gradio_api/mcp")  # what BearerGate guards: the OpenAI face and the MCP server


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


class BearerGate:
    """ASGI middleware: the /v1 and MCP routes answer 401 without ``Authorization: Bearer <key>`` (key None: open)."""

    def __init__(self, app, key: Optional[str]):
        self.app, self.key = app, key

    async def __call__(self, scope, receive, send):
        if self.key and scope["type"] == "http" and guarded(scope.get("path", "")):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if not bearer_matches(headers.get("authorization"), self.key):
                from starlette.responses import JSONResponse

                body = {"error": {"message": "This server needs an API key: send 'Authorization: Bearer <key>' "
                                             "(RAG_API_KEY if set, otherwise RAG_PASSWORD).",
                                  "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
                await JSONResponse(body, 401, headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        await self.app(scope, receive, send)

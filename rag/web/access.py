"""Who may use the app: anyone on this machine by default; a password whenever it listens beyond it."""
from __future__ import annotations

import ipaddress
from typing import Optional

from ..errors import SettingsError
from ..settings import Settings


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

"""The Chat tab's conversation list: save each answer, reopen, rename, delete and export kept conversations.

Whose conversations a call may touch comes from the request (the login's user name) and the browser's
own secret id, kept in its localStorage (``gr.BrowserState``, encrypted with a key kept in the store
so that it survives a restart). The id is minted and signed by the server on a browser's first load;
an id it did not sign is replaced (except the unsigned ids of earlier versions that already own
conversations, which are signed as they are). Each handler returns the page's new state; a store that
cannot be used turns saving off with one sentence, which names no folder of the server.
"""
from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Optional

import gradio as gr

from . import presentation as view
from .conversations import (Store, StoreError, export_markdown, mint_browser_id, new_secret, owner_key, store_at,
                            strong, vouched_token)

log = logging.getLogger("rag.web")
STORAGE_KEY = "ask-the-articles-browser"
OFF = "⚠️ {message}"


def export_name(title: str) -> str:
    """A file name for an exported conversation: ``export_name('Why did OpenAI act?') -> 'why-did-openai-act.md'``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")
    return f"{slug or 'conversation'}.md"


def list_update(conversations: list[dict], selected: str = ""):
    """The list's choices (title, id), newest first, with the open conversation selected."""
    choices = [(c["title"], c["id"]) for c in conversations]
    return gr.update(choices=choices, value=selected if any(c["id"] == selected for c in conversations) else None)


class Sidebar:
    """Handlers of the conversation list; ``store`` is None when the store could not be opened (``problem`` says why)."""

    def __init__(self, home: Path):
        self.store: Optional[Store] = None
        self.problem = ""
        self.path = Path(home) / "conversations.sqlite3"
        try:
            self.store = store_at(home)
            self.id_key = self.store.secret("browser_id_key")
        except StoreError as exc:
            log.error("%s (%s)", exc, self.path)
            self.problem = str(exc)
            self.id_key = new_secret()  # nothing is kept anyway: ids good until the app stops

    def browser_secret(self) -> str:
        """The key BrowserState encrypts the browser's id with: the same after a restart."""
        return self.store.secret() if self.store else new_secret()

    def owner(self, browser: Optional[dict], request: Optional[gr.Request]) -> Optional[str]:
        """Whose conversations these are: None for a browser without an id this server signed."""
        token = vouched_token(self.id_key, (browser or {}).get("id") or "")
        return owner_key(getattr(request, "username", None), token) if token else None

    def vouched(self, browser: dict, request) -> dict:
        """The browser's state with an id this server signed: its own, an earlier version's unsigned id that owns
        conversations (signed as it is, so they stay its own), or a new one."""
        browser_id = browser.get("id") if isinstance(browser.get("id"), str) else ""
        if vouched_token(self.id_key, browser_id):
            return browser
        if self.store and strong(browser_id):
            try:
                if self.store.list(owner_key(getattr(request, "username", None), browser_id)):
                    return {**browser, "id": mint_browser_id(self.id_key, browser_id)}
            except StoreError:
                pass
        return {"id": mint_browser_id(self.id_key), "open": ""}

    def listing(self, owner: Optional[str], selected: str = ""):
        return list_update(self.store.list(owner) if self.store and owner else [], selected)

    def notice(self, message: str = "") -> str:
        text = message or self.problem
        return OFF.format(message=view.escape(text)) if text else ""

    def run(self, action, fallback):
        """Call action(); a StoreError becomes the notice and the fallback result (nothing is lost from the page)."""
        try:
            return action()
        except StoreError as exc:
            log.error("%s (%s)", exc, self.path)
            return fallback(str(exc))

    # -- events ------------------------------------------------------------------------------------
    def start(self, browser: Optional[dict], request: gr.Request):
        """On page load: give a new browser its id, list its conversations and reopen the one it had open.

        Returns (browser, list, chatbot, sources, turns, conversation id, title box, notice).
        """
        browser = self.vouched(dict(browser or {}) if isinstance(browser, dict) else {}, request)
        owner = self.owner(browser, request)

        def action():
            opened = browser.get("open") or ""
            turns = (self.store.turns(owner, opened) if self.store and opened else None) or []
            opened = opened if turns else ""
            browser["open"] = opened
            title = self.store.title(owner, opened) if opened else ""
            return (browser, self.listing(owner, opened), view.chat_messages(turns), view.sources_panel(turns), turns,
                    opened, title or "", self.notice())

        return self.run(action, lambda message: (browser, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                                                 gr.skip(), self.notice(message)))

    def save(self, conversation_id: str, browser: Optional[dict], turns: list, request: gr.Request):
        """After an answer (or a stop): store the conversation. Returns (conversation id, browser, list, title, notice)."""
        owner = self.owner(browser, request)
        if not self.store or not owner or not any(t.get("status") != "streaming" for t in turns or []):
            return conversation_id, browser, gr.skip(), gr.skip(), self.notice()

        def action():
            saved = self.store.save(owner, conversation_id, turns)
            return (saved, dict(browser, open=saved), self.listing(owner, saved), self.store.title(owner, saved),
                    self.notice())

        return self.run(action, lambda message: (conversation_id, browser, gr.skip(), gr.skip(), self.notice(message)))

    def open(self, conversation_id: str, browser: Optional[dict], request: gr.Request):
        """Reopen a conversation as it was. Returns (chatbot, sources, turns, conversation id, browser, title, notice)."""
        owner = self.owner(browser, request)

        def action():
            turns = self.store.turns(owner, conversation_id) if self.store and owner and conversation_id else None
            if turns is None:
                return (gr.skip(),) * 3 + ("", browser, "", self.notice("That conversation is no longer there."))
            return (view.chat_messages(turns), view.sources_panel(turns), turns, conversation_id,
                    dict(browser, open=conversation_id), self.store.title(owner, conversation_id), self.notice())

        return self.run(action, lambda message: (gr.skip(),) * 3 + (gr.skip(), browser, gr.skip(), self.notice(message)))

    def new(self, browser: Optional[dict], request: gr.Request):
        """A new, empty conversation (the previous one stays in the list). Returns (id, browser, list, title)."""
        owner = self.owner(browser, request)
        return self.run(lambda: ("", dict(browser or {}, open=""), self.listing(owner), ""),
                        lambda message: ("", dict(browser or {}, open=""), gr.skip(), ""))

    def rename(self, conversation_id: str, title: str, browser: Optional[dict], request: gr.Request):
        """Rename the open conversation. Returns (list, title box, notice)."""
        owner = self.owner(browser, request)
        if not self.store or not owner or not conversation_id:
            return gr.skip(), "", self.notice("Ask a question first: a conversation is kept from its first answer.")

        def action():
            self.store.rename(owner, conversation_id, title)
            return self.listing(owner, conversation_id), self.store.title(owner, conversation_id) or "", self.notice()

        return self.run(action, lambda message: (gr.skip(), gr.skip(), self.notice(message)))

    def delete(self, confirmed: bool, conversation_id: str, browser: Optional[dict], request: gr.Request):
        """Delete the open conversation once the page's confirmation was accepted (confirmed).

        Returns (chatbot, sources, turns, conversation id, browser, list, title, notice).
        """
        owner = self.owner(browser, request)
        if not confirmed or not conversation_id or not self.store or not owner:
            return (gr.skip(),) * 8

        def action():
            self.store.delete(owner, conversation_id)
            return ([], view.sources_panel([]), [], "", dict(browser, open=""), self.listing(owner), "", self.notice())

        return self.run(action, lambda message: (gr.skip(),) * 7 + (self.notice(message),))

    def export(self, conversation_id: str, browser: Optional[dict], turns: list, request: gr.Request):
        """The open conversation as a Markdown file (its title, each answer, the cited passages quoted)."""
        owner = self.owner(browser, request)
        title = (self.run(lambda: self.store.title(owner, conversation_id), lambda _: None)
                 if self.store and owner and conversation_id else None)
        finished = [t for t in turns or [] if t.get("status") != "streaming"]
        if not finished:
            raise gr.Error("There is nothing to export yet: ask a question first.", print_exception=False)
        title = title or (finished[0]["question"] if finished else "Conversation")
        path = Path(tempfile.mkdtemp(prefix="rag-export-")) / export_name(title)
        path.write_text(export_markdown(title, finished), encoding="utf-8")
        return str(path)

"""Kept conversations in the real chat (headless Chromium, real model, real Gradio, behind RAG_PASSWORD):
kept as answered, listed, reopened after a reload and after a restart with the sources panel as it was,
renamed, exported as Markdown with the cited passages, deleted; two logged-in browsers never see each
other's; an app killed with SIGKILL mid-answer loses only that answer.

The tests run in order on one app, restarted once on the same port (the same origin, so the browser keeps
its storage) after being killed. Two answers cover every flow.
"""
from __future__ import annotations

import os
import secrets
import signal
import sqlite3
from urllib.parse import urljoin

import pytest

from tests.app_fixtures import ROOT, SEED_QUESTION, free_port, model_file, running_app  # noqa: F401
from tests.test_app_browser import (ANSWER_TIMEOUT_S, BOT, CHROMIUM, IN_CI, assert_all_local, browser,  # noqa: F401
                                    shoot, wait_for_bot_messages)

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not IN_CI, reason="Debian chromium is not installed (make chromium)")
PASSWORD = secrets.token_urlsafe(12)
SECOND_QUESTION = "Which open-weight models did OpenAI release?"
ITEMS = "#conversation-list label"


class Kept:
    """The app of this module, its folder and port, so that it can be killed and started again."""

    def __init__(self, folder, model):
        self.folder, self.model, self.port, self.app, self.context = folder, model, free_port(), None, None

    def start(self):
        self.context = running_app(self.folder, self.model, ("--host", "127.0.0.1"), port=self.port,
                                   RAG_PASSWORD=PASSWORD)
        self.app = self.context.__enter__()
        return self.app

    def stop(self):
        if self.context:
            self.context.__exit__(None, None, None)
            self.context = None


@pytest.fixture(scope="module")
def kept(tmp_path_factory, model_file):
    server = Kept(tmp_path_factory.mktemp("kept"), model_file)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def requests_seen() -> list[str]:
    return []


CUT_SHORT = "vellmora-strike.md"


def cut_short_upload(app) -> None:
    """Leave the app's data as a kill during a long upload does: the file in the corpus, one batch of its chunks in
    the index (written by the real index, stopped between two batches)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    from rag.embeddings import MiniLMEmbedding
    from rag.index import Index
    from rag.settings import Settings
    from tests.test_indexing import SENTENCE, KillAfter, Killed

    big = app.corpus / CUT_SHORT
    big.write_text("# Vellmora strike\n\n" + "".join(SENTENCE.format(n=n) for n in range(1500)), encoding="utf-8")
    index = Index(Settings(home=app.home, corpus=app.corpus), MiniLMEmbedding())
    index.turn = KillAfter(1)
    with pytest.raises(Killed):
        index.ingest([big])
    index.reader.stop()
    SharedSystemClient.clear_system_cache()  # the app opens the store next


def log_in(page, url: str) -> None:
    """Gradio's login, through the page's own form endpoint (the cookie lands in the browser context)."""
    response = page.context.request.post(urljoin(url, "login"), form={"username": "rag", "password": PASSWORD})
    assert response.ok, response.text()
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.wait_for_selector("#header .model-pill")


def new_user(browser, url: str, requests_seen):
    """A new browser (its own storage and cookies), logged in."""
    context = browser.new_context(viewport={"width": 1440, "height": 960}, accept_downloads=True)
    context.on("request", lambda request: requests_seen.append(request.url))
    page = context.new_page()
    page.set_default_timeout(60_000)
    log_in(page, url)
    return page


@pytest.fixture(scope="module")
def alice(browser, kept, requests_seen):
    page = new_user(browser, kept.app.url, requests_seen)
    yield page
    page.context.close()


def titles(page) -> list[str]:
    return [t.strip() for t in page.locator(ITEMS).all_inner_texts()]


def wait_for_titles(page, expected: list[str]) -> None:
    """Wait until the list shows exactly these titles (a rename changes a title in place: the count alone is no sign)."""
    page.wait_for_function("([selector, titles]) => JSON.stringify([...document.querySelectorAll(selector)]"
                           ".map(e => e.innerText.trim())) === JSON.stringify(titles)", arg=[ITEMS, expected])
    assert titles(page) == expected


def ask(page, question: str) -> None:
    page.fill("#question textarea", question)
    page.click("#send")


def watch_first_pixels(page) -> None:
    """Record in window.__firsts when the found passages and the answer's first word first appear."""
    page.evaluate(r"""() => {
        const f = window.__firsts = {};
        new MutationObserver(() => {
            if (!f.reading && document.querySelector('#sources .sources-reading')) f.reading = performance.now();
            if (!f.sources && document.querySelector('#sources .source-card')) f.sources = performance.now();
            const bots = document.querySelectorAll('#chatbot [data-testid="bot"]');
            if (!f.token && bots.length && /\w/.test(bots[bots.length - 1].innerText)) f.token = performance.now();
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }""")


def test_an_answer_is_kept_and_its_sources_show_before_its_first_token(alice, requests_seen):
    assert titles(alice) == []
    watch_first_pixels(alice)
    ask(alice, SEED_QUESTION)
    wait_for_bot_messages(alice, 1)
    firsts = alice.evaluate("window.__firsts")
    assert firsts.get("reading") and firsts.get("token"), firsts
    assert firsts["sources"] < firsts["token"], f"the passages came after the first token: {firsts}"
    wait_for_titles(alice, [SEED_QUESTION])
    assert alice.locator("#sources .sources-reading").count() == 0, "the cited sources replace the passages found"
    shoot(alice, "conversations-01-answered")


def test_a_reload_reopens_the_conversation_with_its_sources_as_they_were(alice, requests_seen):
    answer, sources = alice.locator(BOT).last.inner_html(), alice.inner_html("#sources .sources-list")
    assert alice.locator("#sources .source-card").count() >= 1
    alice.reload()
    alice.wait_for_selector(f"{BOT} .answer-meta")
    assert titles(alice) == [SEED_QUESTION]
    assert alice.locator(BOT).last.inner_html() == answer
    assert alice.inner_html("#sources .sources-list") == sources, "the sources panel is not as it was"
    shoot(alice, "conversations-02-reloaded")
    assert_all_local(requests_seen)


def test_rename_and_export_as_markdown_with_the_cited_passages(alice, kept):
    title = alice.locator("#conversation-title input, #conversation-title textarea").first
    assert title.input_value() == SEED_QUESTION
    title.fill("My gpt-oss notes")
    alice.click("#conversation-rename")
    wait_for_titles(alice, ["My gpt-oss notes"])
    alice.click("#conversation-export")
    link = alice.locator("#conversation-file a").first
    link.wait_for()
    with alice.expect_download() as download:
        link.click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert download.value.suggested_filename == "my-gpt-oss-notes.md"
    assert text.startswith(f"# My gpt-oss notes\n\n## {SEED_QUESTION}\n\n")
    cited = alice.locator("#sources .source-card .source-title").first.inner_text()
    assert f"**[1]** {cited}" in text or f"** {cited} — `" in text, text
    assert "characters " in text and "\n> " in text, text
    passage = alice.locator("#sources .source-card .source-text").first.inner_text().removeprefix("… ")
    assert passage.split("\n")[0][:60] in text, "the cited passage is not quoted"


def test_another_logged_in_browser_sees_none_of_it(browser, kept, alice, requests_seen):
    bob = new_user(browser, kept.app.url, requests_seen)
    try:
        assert titles(bob) == [] and bob.locator(BOT).count() == 0
        assert "Sources appear here" in bob.inner_text("#sources")
        bob.reload()
        bob.wait_for_selector("#question textarea")
        bob.wait_for_timeout(1000)
        assert titles(bob) == []
    finally:
        bob.context.close()
    alice.reload()
    alice.wait_for_selector(f"{BOT} .answer-meta")
    assert titles(alice) == ["My gpt-oss notes"]


def test_killed_mid_answer_the_restarted_app_has_everything_but_that_answer(alice, kept, requests_seen):
    before = alice.inner_html("#sources .sources-list")
    ask(alice, SECOND_QUESTION)
    alice.wait_for_function(r"""() => { const bots = document.querySelectorAll('#chatbot [data-testid="bot"]');
                                        return bots.length === 2 && /\w+ ▍/.test(bots[1].innerText); }""",
                            timeout=ANSWER_TIMEOUT_S * 1000)
    os.kill(kept.app.process.pid, signal.SIGKILL)
    kept.app.process.wait()
    kept.stop()
    cut_short_upload(kept.app)  # what a kill during an upload leaves too (the next test sees it finished)
    kept.start()
    log_in(alice, kept.app.url)  # the login does not outlive the process; the browser's own id does
    alice.wait_for_selector(f"{BOT} .answer-meta")
    assert titles(alice) == ["My gpt-oss notes"]
    assert alice.locator(BOT).count() == 1, "only the answer being written when it was killed may be lost"
    assert alice.inner_html("#sources .sources-list") == before
    with sqlite3.connect(kept.app.home / "conversations.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    shoot(alice, "conversations-03-after-kill-and-restart")
    assert_all_local(requests_seen)


def test_the_upload_cut_short_is_finished_after_the_page_is_served_saying_so(alice, kept):
    """The restart served the page first, then finished the upload the kill cut short in the index queue, its
    progress shown in the Documents tab (before, the page stayed unreachable until it was indexed: 2.5 minutes for
    4,546 chunks in the probe)."""
    alice.get_by_role("tab", name="Documents").click()
    alice.wait_for_function(f"() => document.querySelector('#documents-background').innerText.includes('{CUT_SHORT}')",
                            timeout=60_000)
    shown = alice.inner_text("#documents-background")
    assert "Indexing what the last run left undone (1 of 1, " in shown or "Finished indexing" in shown, shown
    alice.wait_for_function("() => document.querySelector('#documents-background').innerText"
                            f".includes('Finished indexing what the last run left undone: {CUT_SHORT}.')",
                            timeout=ANSWER_TIMEOUT_S * 2000)
    alice.wait_for_function(f"() => document.querySelector('#documents-table').innerText.includes('{CUT_SHORT}')")
    restart = kept.app.log.read_text(errors="replace").rsplit("Serving on http://", 1)
    assert len(restart) == 2 and (f"Collection articles in step with its folder, after finishing what the last run "
                                  f"left undone: {CUT_SHORT}") in restart[1], "the page was served only after the upload"
    shoot(alice, "conversations-04-upload-finished-after-restart")
    alice.get_by_role("tab", name="Chat").click()


def test_new_conversation_then_reopen_then_delete(alice, kept):
    alice.click("#clear")
    alice.wait_for_function(f"() => !document.querySelector('{BOT}')")
    assert titles(alice) == ["My gpt-oss notes"]
    alice.locator(ITEMS).filter(has_text="My gpt-oss notes").click()
    alice.wait_for_selector(f"{BOT} .answer-meta")
    alice.once("dialog", lambda dialog: dialog.dismiss())
    alice.click("#conversation-delete")
    alice.wait_for_timeout(1000)
    assert titles(alice) == ["My gpt-oss notes"], "a declined confirmation deleted it"
    alice.once("dialog", lambda dialog: dialog.accept())
    alice.click("#conversation-delete")
    wait_for_titles(alice, [])
    alice.wait_for_function(f"() => !document.querySelector('{BOT}')")
    alice.reload()
    alice.wait_for_selector("#question textarea")
    alice.wait_for_timeout(1000)
    assert titles(alice) == [] and alice.locator(BOT).count() == 0

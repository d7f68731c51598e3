"""Collections on the real app (real model, real Chroma, real Gradio): /v1 with the real ``openai`` client (one
model per collection), the MCP tools with the real ``mcp`` client (``collection``), and the page in headless
Chromium (create, upload into, rename and delete a collection in the Documents tab; a chat in collection A never
cites an article of B).

The app starts with two collections: the default one (the seed article) and 'Cycling' (one article), made on disk
before the start as `rag collections create` makes it; the start indexes both. It allows the tests' news site on
127.0.0.1 (RAG_FETCH_ALLOW), which the default app refuses (test_app_browser.py): links are fetched beside the index
queue, and an import stops when its page goes away.
"""
from __future__ import annotations

import json
import time

import pytest

from rag import catalog
from rag.settings import Settings
from tests.app_fixtures import model_file, running_app, upload  # noqa: F401
from tests.conftest import SEED_QUESTION
from tests.test_app_browser import (ANSWER_TIMEOUT_S, BOT, CHROMIUM, CHROMIUM_ARGS, IN_CI, assert_all_local,
                                    open_tab, wait_for_bot_messages)
from tests.test_collections import CYCLING_ARTICLE, CYCLING_QUESTION
from tests.test_fetch import drip, site  # noqa: F401  (a real HTTP server on loopback, serving a news page)
from tests.test_fetch import feed
from tests.test_mcp import call

SEED_TITLE = "Sam Altman on China"
CYCLING_TITLE = "Van Aert wins the final stage in Paris"
GIRO_ARTICLE = """---
title: Bernal takes the pink jersey home
date: 2021-05-30
---
Egan Bernal of Ineos Grenadiers won the 2021 Giro d'Italia, finishing ahead of Damiano Caruso.
"""


@pytest.fixture(scope="module")
def two_collections(tmp_path_factory, model_file):  # noqa: F811
    folder = tmp_path_factory.mktemp("collections")
    cycling = catalog.create(Settings.load(home=folder / "home"), "Cycling")
    (cycling.corpus / "cycling.md").write_text(CYCLING_ARTICLE, encoding="utf-8")
    with running_app(folder, model_file, RAG_FETCH_ALLOW="127.0.0.1") as app:  # the tests' news site: allowed here
        yield app


@pytest.fixture(scope="module")
def client(two_collections):
    from openai import OpenAI

    return OpenAI(base_url=two_collections.url + "v1", api_key="not-needed-on-loopback", timeout=600, max_retries=0)


def test_v1_lists_one_model_per_collection_and_answers_from_that_collection_only(client):
    assert [m.id for m in client.models.list().data] == ["rag", "rag/Cycling"]
    completion = client.chat.completions.create(model="rag/Cycling", temperature=0, max_tokens=96,
                                                messages=[{"role": "user", "content": CYCLING_QUESTION}])
    extra = completion.model_extra
    assert completion.model == "rag/Cycling" and not extra["refused"], completion.choices[0].message.content
    assert extra["citations"] and {c["source"] for c in extra["citations"]} == {"cycling.md"}
    assert "van aert" in completion.choices[0].message.content.lower()


def test_v1_a_collection_that_does_not_exist_is_an_openai_404(client):
    from openai import NotFoundError

    with pytest.raises(NotFoundError) as caught:
        client.chat.completions.create(model="rag/Giro", messages=[{"role": "user", "content": "Who won?"}])
    assert caught.value.body["code"] == "model_not_found" and "no collection named 'Giro'" in caught.value.body["message"]


def test_mcp_tools_take_a_collection(two_collections):
    error, text = call(two_collections, "list_articles", {"collection": "Cycling"})
    assert not error and [(a["title"], a["collection"]) for a in json.loads(text)] == [(CYCLING_TITLE, "Cycling")]
    error, text = call(two_collections, "list_articles", {"collection": "*"})
    assert not error and sorted(a["collection"] for a in json.loads(text)) == ["Cycling", "articles"]
    error, text = call(two_collections, "list_articles", {})
    assert not error and [a["collection"] for a in json.loads(text)] == ["articles"]
    error, text = call(two_collections, "search_articles", {"query": "Tour de France", "k": 5, "collection": "cycling"})
    assert not error and {p["source"] for p in json.loads(text)} == {"cycling.md"}
    error, text = call(two_collections, "ask_articles", {"question": SEED_QUESTION, "collection": "Giro"})
    assert error and "no collection named 'Giro'" in text


def test_gradio_client_uploads_lists_and_deletes_in_a_chosen_collection(two_collections, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(two_collections.url, verbose=False, download_files=False)
    giro = tmp_path / "giro.md"
    giro.write_text(GIRO_ARTICLE, encoding="utf-8")
    added = client.predict(handle_file(str(giro)), "Cycling", api_name="/upload")
    assert added["saved"] == ["giro.md"] and added["failed"] == []
    listed = client.predict("Cycling", api_name="/documents")
    assert sorted(d["source"] for d in listed) == ["cycling.md", "giro.md"]
    assert "giro.md" not in {d["source"] for d in client.predict(api_name="/documents")}  # the default one: untouched
    doc_id = next(d["doc_id"] for d in listed if d["source"] == "giro.md")
    with pytest.raises(AppError, match="not in the index"):
        client.predict(doc_id, api_name="/delete")  # not in the default collection
    assert "removed from the corpus folder" in client.predict(doc_id, "Cycling", api_name="/delete")
    assert [d["source"] for d in client.predict("Cycling", api_name="/documents")] == ["cycling.md"]
    with pytest.raises(AppError, match="no collection named 'Giro'"):
        client.predict(handle_file(str(giro)), "Giro", api_name="/upload")


playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def page(two_collections):
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is not on PATH: CI must run the browser tests (make chromium installs it)")
        pytest.skip("Debian chromium is not installed (make chromium)")
    seen: list[str] = []
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = open_tab(chromium, two_collections, seen)
        yield tab
        assert_all_local(seen)
        chromium.close()


def status_says(page, text: str, timeout_s: float = 120) -> None:
    page.wait_for_function("(t) => document.querySelector('#documents-status').innerText.includes(t)", arg=text,
                           timeout=timeout_s * 1000)


def choose(page, dropdown: str, option: str) -> None:
    page.click(f"{dropdown} input")
    page.get_by_role("option", name=option, exact=True).click()


def test_the_documents_tab_makes_fills_renames_and_deletes_a_collection(page, two_collections, tmp_path, site):  # noqa: F811
    page.get_by_role("tab", name="Documents").click()
    page.wait_for_selector("#documents-table .docs-table")
    assert SEED_TITLE in page.inner_text("#documents-table")
    page.fill("#collection-name input", "Giro")
    page.click("#collection-create")
    status_says(page, "Made the collection")
    assert page.input_value("#collection input") == "Giro" and SEED_TITLE not in page.inner_text("#documents-table")
    article = tmp_path / "giro.md"
    article.write_text(GIRO_ARTICLE, encoding="utf-8")
    page.set_input_files("#upload input[type=file]", str(article))
    status_says(page, "Added", ANSWER_TIMEOUT_S)
    giro = catalog.find(Settings.load(home=two_collections.home), "Giro")
    assert (giro.corpus / "giro.md").is_file() and not (two_collections.corpus / "giro.md").exists()
    assert "Bernal takes the pink jersey home" in page.inner_text("#documents-table")
    page.fill("#link textarea", site.url + "/article.html")  # the link box adds into the chosen collection too
    page.click("#link-add")
    page.wait_for_function("() => (document.querySelector('#documents-table tbody') || {innerText: ''}).innerText"
                           ".includes('Port strike ends after nine days')",
                           timeout=ANSWER_TIMEOUT_S * 1000)
    assert "Added" in page.inner_text("#documents-status")
    assert "2019-07-28" in page.inner_text("#documents-table tbody") and page.input_value("#link textarea") == ""
    assert len(list(giro.corpus.glob("*.md"))) == 2 and len(list(two_collections.corpus.iterdir())) == 1
    page.fill("#collection-name input", "Giro 2021")
    page.click("#collection-rename")
    status_says(page, "Renamed")
    assert page.input_value("#collection input") == "Giro 2021"
    page.once("dialog", lambda dialog: dialog.dismiss())  # asked to confirm, and said no: nothing happens
    page.click("#collection-delete")
    page.wait_for_timeout(1500)
    assert catalog.find(Settings.load(home=two_collections.home), "Giro 2021").corpus.is_dir()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#collection-delete")
    status_says(page, "Deleted the collection")
    assert page.input_value("#collection input") == "articles (default)"
    assert SEED_TITLE in page.inner_text("#documents-table")
    assert [c.name for c in catalog.list_collections(Settings.load(home=two_collections.home))] == ["articles", "Cycling"]
    assert (two_collections.home / "collections" / ".deleted").is_dir() and (two_collections.corpus / "altman-china-ai-open-weights.md").exists()


def test_a_chat_in_one_collection_shows_and_cites_only_its_articles(page):
    page.get_by_role("tab", name="Chat").click()
    choose(page, "#chat-collection", "Cycling")
    page.fill("#question textarea", CYCLING_QUESTION)
    page.click("#send")
    wait_for_bot_messages(page, 1)
    answer, sources = page.locator(BOT).last.inner_text(), page.inner_text("#sources")
    assert "van aert" in answer.lower() and CYCLING_TITLE in sources and SEED_TITLE not in sources, (answer, sources)
    page.click("#clear")  # a new conversation in the default collection; the Cycling one stays in the list
    choose(page, "#chat-collection", "articles (default)")
    page.wait_for_function("() => document.querySelectorAll('#conversation-list label').length == 1")
    page.locator("#conversation-list label").first.click()  # reopened: its collection is chosen again
    page.wait_for_function("() => document.querySelector('#chat-collection input')?.value == 'Cycling'")
    assert CYCLING_TITLE in page.inner_text("#sources")
    page.reload()  # the open conversation comes back, in its collection (the page is built by script after load)
    page.wait_for_selector(f"{BOT} .answer-meta")
    page.wait_for_function("() => document.querySelector('#chat-collection input')?.value == 'Cycling'")
    assert CYCLING_TITLE in page.inner_text("#sources") and "van aert" in page.locator(BOT).last.inner_text().lower()


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s"
        time.sleep(0.1)


def test_a_slow_link_holds_up_no_upload(page, two_collections, site, tmp_path):
    """A page that takes 40 s to arrive is fetched beside the index queue: an upload made meanwhile is indexed at
    once (it waited for the whole page before, 97 s in the probe)."""
    site.routes["/slow.html"] = drip(b"<html><body><p>" + b"The slow harbour story. " * 16 + b"</p></body></html>", 0.1)
    page.get_by_role("tab", name="Documents").click()
    page.fill("#link textarea", site.url + "/slow.html")
    page.click("#link-add")
    wait_until(lambda: "/slow.html" in site.requests, 30, "the app asks for the slow page")
    article = tmp_path / "giro.md"
    article.write_text(GIRO_ARTICLE, encoding="utf-8")
    started = time.monotonic()
    added = upload(two_collections, article)
    took = time.monotonic() - started
    assert added["saved"] == ["giro.md"] and added["failed"] == [], added
    assert took < 25, f"the upload waited {took:.0f} s behind a slow link"
    assert "slow harbour" not in " ".join(p.read_text(errors="replace") for p in two_collections.corpus.glob("*.md")), \
        "the slow page was still arriving while the upload was indexed"


def test_a_feed_import_stops_when_its_page_goes_away(page, two_collections, site):
    """A feed of 60 slow entries, added from a tab that is then closed: no entry is asked for once the app has
    noticed (Gradio checks its clients every few seconds), far from the 60."""
    site.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, feed(*[f"e{n}.html" for n in range(60)]))
    for n in range(60):
        site.routes[f"/e{n}.html"] = drip(f"<html><body><p>Harbour entry {n} reopened its gates.</p></body></html>"
                                          .encode(), 0.02)
    tab = open_tab(page.context.browser, two_collections, [])
    tab.get_by_role("tab", name="Documents").click()
    tab.fill("#link textarea", site.url + "/feed.xml")
    tab.check("#link-feed input")
    tab.click("#link-add")
    wait_until(lambda: "/e2.html" in site.requests, 120, "the import reaches its third entry")
    tab.context.close()
    closed, asked, still = time.monotonic(), len(site.requests), time.monotonic()
    while time.monotonic() - still < 8:  # the app notices the closed page (within ~10 s), then stops at the next entry
        assert time.monotonic() - closed < 60, f"the import went on after its page had gone: {site.requests[-5:]}"
        time.sleep(0.5)
        if len(site.requests) != asked:
            asked, still = len(site.requests), time.monotonic()
    assert asked < 40, f"{asked - 1} entries were asked for: the import did not stop when its page went away"

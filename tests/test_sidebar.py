"""The conversation list's handlers (rag/web/sidebar.py) on a real store: a browser's first load, saving, reopening,
another browser's id, delete, export, and a damaged store that turns saving off with one sentence. No model."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.web.sidebar import Sidebar, export_name
from tests.test_conversations import turn


def request(username=None):
    return SimpleNamespace(username=username)


@pytest.fixture
def sidebar(tmp_path) -> Sidebar:
    return Sidebar(tmp_path)


def first_load(sidebar, browser=None, user=None):
    return sidebar.start(browser, request(user))


def test_a_new_browser_gets_a_secret_id_and_an_empty_list(sidebar):
    browser, listed, chat, _, turns, opened, title, notice = first_load(sidebar)
    assert len(browser["id"]) >= 40 and browser["open"] == ""
    assert listed["choices"] == [] and chat == [] and turns == [] and opened == "" and notice == ""
    assert first_load(sidebar)[0]["id"] != browser["id"], "two browsers got the same id"


def test_saved_then_reopened_on_the_next_load_and_invisible_to_another_browser(sidebar):
    browser = first_load(sidebar)[0]
    kept, browser, listed, title, notice = sidebar.save("", browser, [turn("Why did OpenAI release gpt-oss?")],
                                                       request())
    assert listed["choices"] == [("Why did OpenAI release gpt-oss?", kept)] and listed["value"] == kept
    again = first_load(sidebar, browser)  # a reload: the same browser storage
    assert again[4] == [turn("Why did OpenAI release gpt-oss?")] and again[5] == kept
    assert again[2][0]["content"] == "Why did OpenAI release gpt-oss?" and "src-1-1" in again[3]
    stranger = dict(first_load(sidebar)[0], open=kept)  # another browser that knows the id
    assert first_load(sidebar, stranger)[4] == [] and first_load(sidebar, stranger)[1]["choices"] == []
    assert "no longer there" in sidebar.open(kept, stranger, request())[-1]
    logged_in = sidebar.save("", browser, [turn("Q")], request("rag"))[0]
    assert [c[1] for c in first_load(sidebar, browser)[1]["choices"]] == [kept], "a login is another owner"
    assert [c[1] for c in first_load(sidebar, browser, "rag")[1]["choices"]] == [logged_in]


def test_delete_declined_or_done(sidebar):
    browser = first_load(sidebar)[0]
    kept, browser, *_ = sidebar.save("", browser, [turn("Q")], request())
    sidebar.delete(False, kept, browser, request())  # the page's confirmation was declined
    assert [c["id"] for c in sidebar.store.list(sidebar.owner(browser, request()))] == [kept]
    stranger = first_load(sidebar)[0]
    sidebar.delete(True, kept, stranger, request())
    assert [c["id"] for c in sidebar.store.list(sidebar.owner(browser, request()))] == [kept], "another browser deleted it"
    chat, _, turns, opened, browser, listed, title, notice = sidebar.delete(True, kept, browser, request())
    assert chat == [] and turns == [] and opened == "" and listed["choices"] == [] and browser["open"] == ""


def test_export_writes_the_markdown_file(sidebar):
    browser = first_load(sidebar)[0]
    kept, browser, *_ = sidebar.save("", browser, [turn("Why did OpenAI release gpt-oss?")], request())
    sidebar.rename(kept, "My notes", browser, request())
    path = sidebar.export(kept, browser, [turn("Why did OpenAI release gpt-oss?")], request())
    assert path.endswith("my-notes.md")
    text = open(path, encoding="utf-8").read()
    assert text.startswith("# My notes\n") and "characters 2002–2467" in text and "> OpenAI released gpt-oss." in text
    import gradio as gr
    with pytest.raises(gr.Error, match="nothing to export"):
        sidebar.export(kept, browser, [], request())


def test_a_damaged_store_turns_saving_off_with_one_sentence_and_the_chat_goes_on(tmp_path):
    (tmp_path / "conversations.sqlite3").write_bytes(b"not a database" * 300)
    sidebar = Sidebar(tmp_path)
    browser, listed, chat, sources, turns, opened, title, notice = sidebar.start(None, request())
    assert "cannot be read" in notice and "Move the file away" in notice and len(browser["id"]) >= 40
    assert str(tmp_path) not in notice, "every browser is shown the notice: it names no folder of the server"
    saved = sidebar.save("", browser, [turn("Q")], request())
    assert saved[0] == "" and "cannot be read" in saved[-1]
    assert (tmp_path / "conversations.sqlite3").read_bytes() == b"not a database" * 300


@pytest.mark.parametrize("title, name", [("Why did OpenAI act?", "why-did-openai-act.md"), ("???", "conversation.md")])
def test_export_name(title, name):
    assert export_name(title) == name


@pytest.mark.parametrize("chosen", ["A" * 43, "a-weak-id-of-the-clients-own-choosing-000000", "x" * 200, "", 42, None,
                                    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlq.forged-signature-000000"])
def test_an_id_the_browser_chose_is_replaced_by_one_the_server_minted(sidebar, chosen):
    browser = first_load(sidebar, {"id": chosen, "open": ""})[0]
    assert browser["id"] != chosen and sidebar.owner(browser, request()) is not None
    assert sidebar.owner({"id": chosen}, request()) is None, "an id the server did not sign owns nothing"
    assert first_load(sidebar, browser)[0]["id"] == browser["id"], "a minted id is kept on the next load"


def test_an_earlier_versions_id_that_owns_conversations_keeps_them(sidebar):
    from rag.web.conversations import new_secret, owner_key

    legacy = new_secret()  # what earlier versions gave a browser, unsigned
    kept = sidebar.store.save(owner_key(None, legacy), "", [turn("Q")])
    browser = first_load(sidebar, {"id": legacy, "open": kept})[0]
    assert browser["id"].startswith(legacy + ".") and browser["open"] == kept
    assert [c["id"] for c in sidebar.store.list(sidebar.owner(browser, request()))] == [kept]
    weak = "A" * 43  # an earlier version accepted it; it is not kept, even owning conversations
    sidebar.store.save(owner_key(None, weak), "", [turn("Q")])
    assert first_load(sidebar, {"id": weak, "open": ""})[0]["id"].split(".")[0] != weak

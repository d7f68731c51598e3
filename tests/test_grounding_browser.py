"""A sentence the checks do not back is marked where the reader sees it: in the chat, greyed, with a note.

Its own app, with the sentence check made strict (RAG_MIN_CLAIM=0.99: a sentence counts as stated only when the
model is all but certain), so that the seed answer's sentences are not backed and the page must show it.
"""
import pytest

from tests.app_fixtures import SEED_QUESTION, model_file, running_app  # noqa: F401
from tests.test_app_browser import (CHROMIUM, IN_CI, ask, assert_all_local, browser, last_bot, open_tab,  # noqa: F401
                                    requests_seen, shoot, wait_for_bot_messages)

pytestmark = pytest.mark.skipif(CHROMIUM is None and not IN_CI, reason="Debian chromium is not installed (make chromium)")


@pytest.fixture(scope="module")
def strict_app(tmp_path_factory, model_file):  # noqa: F811
    with running_app(tmp_path_factory.mktemp("strict"), model_file, RAG_MIN_CLAIM="0.99") as app:
        yield app


def test_an_unbacked_sentence_is_greyed_and_says_not_found(browser, strict_app, requests_seen):  # noqa: F811
    page = open_tab(browser, strict_app, requests_seen)
    ask(page, SEED_QUESTION)
    wait_for_bot_messages(page, 1)
    answer = last_bot(page)
    marked = answer.locator(".unsupported-sentence")
    assert marked.count() >= 1, f"no sentence marked in: {answer.inner_text()}"
    assert "(not found in the sources)" in answer.inner_text()
    color = marked.first.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(107, 114, 128)", f"an unbacked sentence should be greyed, not {color}"
    assert marked.first.locator("a.cite").count() >= 1  # it still links the passage it cited, to check by hand
    shoot(page, "11-unbacked-sentence-marked")
    assert_all_local(requests_seen)
    page.context.close()

"""The real chat in headless Chromium: streamed cited answers, sources, follow-ups, uploads, errors, two tabs,
and the Evaluation tab.

One app (real model, real Chroma, real Gradio) serves the whole module; the tests run in order on
one conversation, so about three model answers cover every flow. Every request the pages make is
recorded and must stay on this machine. Screenshots go to tests/artifacts/ and docs/screenshot.png.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from urllib.parse import urlparse

import pytest

from tests.app_fixtures import (ARTIFACTS, CHINESE_ARTICLE, CHINESE_QUESTION, CHINESE_QUESTION_IN_ENGLISH,  # noqa: F401
                                NEW_ARTICLE_DATE, NEW_ARTICLE_QUESTION, POSTER_QUESTION, ROOT, TEMPORAL_CORPUS,
                                SEED_QUESTION, app_server, article_files, model_file)
from tests.test_fetch import site  # noqa: F401  (a hostile site on 127.0.0.1, played by the test)

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")  # found as `make chromium` finds it: `command -v chromium`
IN_CI = os.environ.get("CI") == "true"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ANSWER_TIMEOUT_S = 180  # one answer on a busy 2-core CPU; generous on purpose
FOLLOW_UP = "and what does he think about export controls?"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
BOT = '#chatbot [data-testid="bot"]'
USER = '#chatbot [data-testid="user"]'

pytestmark = pytest.mark.skipif(CHROMIUM is None and not IN_CI, reason="Debian chromium is not installed (make chromium)")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:  # only reached in CI, where a missing browser must fail the run, not skip it
        pytest.fail("chromium is not on PATH: CI must run the browser tests (make chromium installs it)")
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def requests_seen() -> list[str]:
    """Every URL any page of this module requested."""
    return []


def open_tab(browser, app, requests_seen):
    """A new browser session (its own cookies and Gradio session) on the app, recording its requests."""
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    context.on("request", lambda request: requests_seen.append(request.url))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app.url)
    page.wait_for_selector("#question textarea")
    page.wait_for_selector("#header .model-pill")
    return page


@pytest.fixture(scope="module")
def page(browser, app_server, requests_seen):
    tab = open_tab(browser, app_server, requests_seen)
    yield tab
    tab.context.close()


def assert_all_local(urls: list[str]) -> None:
    """Nothing leaves the machine: every request goes to 127.0.0.1/localhost (or is page-internal)."""
    assert urls, "no requests were recorded"
    outside = sorted({u for u in urls if urlparse(u).scheme not in ("data", "blob", "about")
                      and urlparse(u).hostname not in LOCAL_HOSTS})
    assert not outside, f"the page fetched from outside this machine: {outside}"


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def record_bot_texts(page) -> None:
    """Keep every distinct text of the latest bot message in window.__snapshots, to see the streaming."""
    page.evaluate("""() => {
        window.__snapshots = [];
        const chat = document.querySelector('#chatbot');
        new MutationObserver(() => {
            const bots = chat.querySelectorAll('[data-testid="bot"]');
            const text = bots.length ? bots[bots.length - 1].innerText : '';
            if (window.__snapshots[window.__snapshots.length - 1] !== text) window.__snapshots.push(text);
        }).observe(chat, {subtree: true, childList: true, characterData: true});
    }""")


def ask(page, question: str) -> None:
    page.fill("#question textarea", question)
    page.click("#send")


def wait_for_bot_messages(page, count: int, timeout_s: float = ANSWER_TIMEOUT_S, finished: str = ".answer-meta"):
    """Wait until the chat holds count finished bot messages (an answer shows its timings)."""
    page.wait_for_function(
        """([selector, count]) => document.querySelectorAll(selector).length >= count""",
        arg=[f"{BOT} {finished}", count], timeout=timeout_s * 1000)


def last_bot(page):
    return page.locator(BOT).last


def test_empty_question_gets_a_readable_message(page, requests_seen):
    page.click("#send")
    # read in the same check that finds the message: a second read raced a re-render of the chat (CI, 2026-12-08)
    text = page.wait_for_function("""() => { const chat = document.querySelector('#chatbot');
        const bot = [...chat.querySelectorAll('[data-testid="bot"]')].some(m => m.innerText.includes('Please type a question.'));
        return bot && chat.innerText.includes('(empty question)') ? chat.innerText : null; }""").json_value()
    assert "Please type a question." in text and "Traceback" not in text
    shoot(page, "01-empty-question")
    page.click("#clear")
    page.wait_for_function("""() => !document.querySelector('#chatbot [data-testid="bot"]')""")
    assert_all_local(requests_seen)


def test_stop_interrupts_the_answer(page, requests_seen):
    """Stop ends the stream, keeps the partial answer marked as stopped; the next test proves the model is free."""
    ask(page, "What does Sam Altman think about export controls?")
    page.wait_for_function(r"""() => { const bots = document.querySelectorAll('#chatbot [data-testid="bot"]');
                                       return bots.length && /\w+ ▍/.test(bots[bots.length - 1].innerText); }""",
                           timeout=ANSWER_TIMEOUT_S * 1000)
    page.click("#stop")
    page.wait_for_function("""() => document.querySelector('#chatbot').innerText.includes('(stopped)')""")
    page.wait_for_timeout(2000)  # an update of the cancelled stream arriving late would show here
    assert "▍" not in last_bot(page).inner_text() and "(stopped)" in last_bot(page).inner_text()
    shoot(page, "02-stopped")
    page.click("#clear")
    page.wait_for_function(f"() => !document.querySelector('{BOT}')")
    page.wait_for_timeout(1000)
    assert page.locator(BOT).count() == 0, "the cleared conversation came back"
    assert_all_local(requests_seen)


def test_seed_question_streams_a_cited_answer_and_shows_the_passage(page, requests_seen):
    page.locator("#examples").get_by_text(SEED_QUESTION).click()
    playwright_api.expect(page.locator("#question textarea")).to_have_value(SEED_QUESTION)  # the example fills the box
    record_bot_texts(page)
    page.click("#send")
    wait_for_bot_messages(page, 1)
    partial = [t for t in page.evaluate("window.__snapshots") if t.strip().endswith("▍") and len(t.strip()) > 1]
    assert len(partial) >= 3, f"the answer did not stream token by token: {partial}"
    assert all(a.rstrip(" ▍") in b for a, b in zip(partial, partial[1:])), "streamed text should only grow"

    answer = last_bot(page)
    assert "tokens/s" in answer.inner_text() and "retrieval" in answer.inner_text()
    links = answer.locator("a.cite")
    assert links.count() >= 1, f"no citation in: {answer.inner_text()}"
    target = links.first.get_attribute("href").lstrip("#")
    links.first.click()
    card = page.locator(f"#sources #{target}")
    page.wait_for_function("(id) => document.getElementById(id).classList.contains('focused')", arg=target)
    assert card.is_visible()
    assert "OpenAI" in card.inner_text() and card.locator(".source-title").inner_text()
    assert card.locator("mark").count() >= 1, "the cited sentences should be highlighted"
    assert page.locator("#sources .sources-turn[open]").count() == 1
    shoot(page, "03-seed-answer-with-source")  # docs/screenshot.png is copied from here by hand: tests write no tracked file
    assert_all_local(requests_seen)


def test_upload_adds_an_article_and_refuses_a_bad_file(page, app_server, article_files, requests_seen):
    page.get_by_role("tab", name="Documents").click()
    page.wait_for_selector("#documents-table .docs-table")
    assert page.locator("#documents-table tbody tr").count() == 1
    page.set_input_files("#upload input[type=file]", str(article_files["good"]))
    page.wait_for_function("() => document.querySelector('#documents-status').innerText.includes('Added')",
                           timeout=ANSWER_TIMEOUT_S * 1000)
    assert "zorblax-festival.md" in page.inner_text("#documents-status")
    assert "The Zorblax river festival" in page.inner_text("#documents-table")
    assert NEW_ARTICLE_DATE in page.inner_text("#documents-table .docs-table tbody")  # its Published column
    assert (app_server.corpus / "zorblax-festival.md").is_file()

    page.set_input_files("#upload input[type=file]", str(article_files["bad"]))
    page.wait_for_function("() => document.querySelector('#documents-status').innerText.includes('Not added')",
                           timeout=ANSWER_TIMEOUT_S * 1000)
    assert "binary" in page.inner_text("#documents-status")
    assert not (app_server.corpus / "not-really-text.txt").exists()
    assert page.locator("#documents-table tbody tr").count() == 2
    shoot(page, "04-documents-after-upload")
    page.get_by_role("tab", name="Chat").click()
    assert_all_local(requests_seen)


def test_two_tabs_are_queued_and_keep_their_own_conversations(page, browser, app_server, requests_seen):
    """Tab A asks a follow-up (searched with its conversation) while tab B asks about the new article."""
    other = open_tab(browser, app_server, requests_seen)
    try:
        ask(page, FOLLOW_UP)
        page.wait_for_function(f"() => document.querySelectorAll('{BOT}').length >= 2")
        ask(other, NEW_ARTICLE_QUESTION)
        wait_for_bot_messages(page, 2)
        wait_for_bot_messages(other, 1, timeout_s=2 * ANSWER_TIMEOUT_S)  # waits its turn behind tab A

        follow_up = last_bot(page)
        follow_up.locator("details.searched summary").click()
        rewritten = follow_up.locator("details.searched").inner_text().replace("Searched for", "")
        assert rewritten.strip() and rewritten.strip() != FOLLOW_UP
        assert "export control" in rewritten.lower()
        assert follow_up.locator("a.cite").count() >= 1
        shoot(page, "05-follow-up-rewritten")

        reply = last_bot(other)
        assert "Brevik" in reply.inner_text(), reply.inner_text()
        reply.locator("a.cite").first.click()
        card = other.locator("#sources .source-card.focused")
        assert "Zorblax" in card.locator(".source-title").inner_text()
        assert card.locator(".source-date").inner_text() == "15 June 2024"  # the article's date, as people write it
        assert card.locator(".source-date").get_attribute("datetime") == NEW_ARTICLE_DATE
        assert "<script>window.__pwned = true</script>" in card.inner_text()  # shown as text, not run
        assert other.evaluate("window.__pwned") is None
        shoot(other, "06-new-article-answer")

        mine, theirs = page.inner_text("#chatbot"), other.inner_text("#chatbot")
        assert SEED_QUESTION in mine and NEW_ARTICLE_QUESTION not in mine
        assert SEED_QUESTION not in theirs and FOLLOW_UP not in theirs
        assert other.locator(USER).count() == 1
    finally:
        other.context.close()
    assert_all_local(requests_seen)


def test_retry_and_clear(page, requests_seen):
    """Retry re-asks the last question in place (an empty one: no model call); both clear buttons forget it all."""
    assert "Sources for" in page.inner_text("#sources")
    page.click('#chatbot button[aria-label="Clear"]')  # the chat's own trash button
    page.wait_for_function(f"() => !document.querySelector('{BOT}')")
    page.wait_for_function("() => document.querySelector('#sources').innerText.includes('Sources appear here')")
    page.click("#send")
    page.wait_for_function(f"""() => [...document.querySelectorAll('{BOT}')]
                                     .some(m => m.innerText.includes('Please type'))""")
    record_bot_texts(page)
    page.click("#retry")
    page.wait_for_function("""() => window.__snapshots.length >= 1
                                    && window.__snapshots[window.__snapshots.length - 1].includes('Please type')""")
    assert page.locator(BOT).count() == 1 and page.locator(USER).count() == 1  # replaced in place
    page.click("#clear")
    page.wait_for_function(f"() => !document.querySelector('{BOT}')")
    assert "Sources appear here" in page.inner_text("#sources")
    assert_all_local(requests_seen)


def test_delete_a_document(page, app_server, requests_seen):
    """Deleting removes the article from the index (the table) and its file from the corpus folder."""
    page.get_by_role("tab", name="Documents").click()
    page.wait_for_function("() => document.querySelectorAll('#documents-table tbody tr').length == 2")
    page.click("#delete-choice input")
    page.get_by_role("option", name="The Zorblax river festival — zorblax-festival.md").click()
    page.click("#delete")
    page.wait_for_function("() => document.querySelector('#documents-status').innerText.includes('Deleted')")
    assert page.locator("#documents-table tbody tr").count() == 1
    assert "Zorblax" not in page.inner_text("#documents-table")
    assert not (app_server.corpus / "zorblax-festival.md").exists()
    shoot(page, "07-documents-after-delete")
    assert_all_local(requests_seen)


def set_number(page, selector: str, value: str) -> None:
    """Type a value into a Gradio number box and leave it; retype if the box was reset.

    A tab's inputs are drawn when it is first shown, and on a busy machine the box could take its
    initial value after Playwright had already typed (CI once ran 5 questions instead of 2).
    """
    box = page.locator(selector)
    for _ in range(5):
        box.fill(value)
        box.press("Tab")
        page.wait_for_timeout(300)
        if box.input_value() == value:
            return
    raise AssertionError(f"{selector} does not keep {value!r}: it shows {box.input_value()!r}")


def test_evaluation_tab_runs_the_test_set_and_shows_the_report(page, requests_seen):
    """Two questions of the bundled test set, with the question being answered shown while it runs,
    then the report's metric table and the chart."""
    page.get_by_role("tab", name="Evaluation").click()
    set_number(page, "#eval-limit input", "2")
    page.evaluate("""() => {  // record every text the report pane shows, to see the progress lines
        window.__evalTexts = [];
        new MutationObserver(() => {
            const text = document.querySelector('#eval-report').innerText;
            if (window.__evalTexts[window.__evalTexts.length - 1] !== text) window.__evalTexts.push(text);
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }""")
    with page.expect_request(lambda r: "/queue/join" in r.url and '"data":[null,' in (r.post_data or "")) as sent:
        page.click("#eval-run")
    assert json.loads(sent.value.post_data)["data"] == [None, 2], sent.value.post_data  # what the page sent
    page.wait_for_selector("#eval-report table", timeout=2 * ANSWER_TIMEOUT_S * 1000)
    shown = page.evaluate("window.__evalTexts")
    assert any(re.search(r"Question [12]/2: ", text) for text in shown), f"no progress line among {shown}"
    scores = page.locator("#eval-report table").first.inner_text()
    for metric in ("hit_at_k", "keyword_recall", "citation_precision", "false_refusal_rate"):
        assert metric in scores
    report = page.inner_text("#eval-report")
    assert "2 questions" in report and "Report files:" in report and "Traceback" not in report
    chart = page.locator("#eval-chart img")
    chart.wait_for(state="attached")
    chart.scroll_into_view_if_needed()  # the image loads lazily: only once it is in view
    page.wait_for_function("() => document.querySelector('#eval-chart img').naturalWidth > 0")
    shoot(page, "08-evaluation")
    assert_all_local(requests_seen)


def test_an_article_asking_for_an_image_cannot_make_the_page_fetch_it(page, app_server, article_files, requests_seen):
    """Model output and questions are rendered as Markdown: an image or link in them must stay text."""
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#upload input[type=file]", str(article_files["hostile"]))
    page.wait_for_function("() => document.querySelector('#documents-status').innerText.includes('vellmora-poster')",
                           timeout=ANSWER_TIMEOUT_S * 1000)
    page.get_by_role("tab", name="Chat").click()
    before = len(page.locator(BOT).all())
    ask(page, POSTER_QUESTION)
    wait_for_bot_messages(page, before + 1)
    chat = page.locator("#chatbot")
    assert chat.locator("img[src*='elsewhere']").count() == 0, "an image from the question or the answer was rendered"
    assert chat.locator("a[href*='elsewhere']").count() == 0, "a link to another host was rendered"
    assert "elsewhere.example" in chat.inner_text()  # shown as text, where the user can see it
    shoot(page, "09-image-asking-article")
    assert_all_local(requests_seen)


def test_uploading_a_taken_name_keeps_both_unless_replacing_is_ticked(page, app_server, article_files, requests_seen):
    page.get_by_role("tab", name="Documents").click()
    rows = page.locator("#documents-table tbody tr").count()
    for shown in ("Added zorblax-festival.md", "Added zorblax-festival (2).md"):  # deleted above, then taken
        page.set_input_files("#upload input[type=file]", str(article_files["good"]))
        page.wait_for_function("(text) => document.querySelector('#documents-status').innerText.includes(text)",
                               arg=shown, timeout=ANSWER_TIMEOUT_S * 1000)
    assert "zorblax-festival (2).md" in page.inner_text("#documents-status")
    assert (app_server.corpus / "zorblax-festival.md").is_file() and (app_server.corpus / "zorblax-festival (2).md").is_file()
    assert page.locator("#documents-table tbody tr").count() == rows + 2
    page.locator("#upload-replace input").check()
    page.set_input_files("#upload input[type=file]", str(article_files["good"]))
    page.wait_for_function("() => document.querySelector('#documents-status').innerText.includes('Replaced')",
                           timeout=ANSWER_TIMEOUT_S * 1000)
    assert "zorblax-festival.md" in page.inner_text("#documents-status")
    assert page.locator("#documents-table tbody tr").count() == rows + 2  # replaced in place, nothing lost
    page.locator("#upload-replace input").uncheck()
    assert_all_local(requests_seen)


def test_an_uploaded_test_set_with_images_in_it_makes_the_evaluation_tab_fetch_nothing(page, tmp_path, requests_seen):
    """Ids, questions and expected answers of an uploaded test set are shown in the report: images and links in
    them (and in the answer, which may copy them) must stay text (issue 16)."""
    item = {"id": "![i](http://elsewhere.example/id.png)", "answerable": True, "evidence": ["Chinese open-source"],
            "question": SEED_QUESTION + " ![q](http://elsewhere.example/q.png) <img src=http://elsewhere.example/h.png>",
            "answer": "![a](http://elsewhere.example/a.png) [x](javascript:alert(1))", "keywords": [["China"]]}
    testset = tmp_path / "hostile-testset.jsonl"
    testset.write_text(json.dumps(item) + "\n", encoding="utf-8")
    page.get_by_role("tab", name="Evaluation").click()
    page.set_input_files("#eval-testset input[type=file]", str(testset))
    set_number(page, "#eval-limit input", "1")
    page.click("#eval-run")
    page.wait_for_function(  # this run's report (a table naming its id), not a progress line or an earlier run's report
        """() => { const r = document.querySelector('#eval-report');
                   return r && r.querySelector('table') && r.innerText.includes('elsewhere.example/id.png'); }""",
        timeout=2 * ANSWER_TIMEOUT_S * 1000)
    page.wait_for_timeout(1000)  # an image the report holds would be requested by now
    report = page.locator("#eval-report")
    assert report.locator("img").count() == 0 and report.locator("a[href*='elsewhere'], a[href^='javascript']").count() == 0
    assert "elsewhere.example/id.png" in report.inner_text()  # shown as text
    shoot(page, "10-hostile-testset")
    assert_all_local(requests_seen)


def test_a_question_about_something_no_article_names_is_refused_saying_so(page, requests_seen):
    """The H20 chip is named nowhere in the articles: the page refuses and says so, instead of inventing a maker."""
    page.get_by_role("tab", name="Chat").click()
    before = len(page.locator(BOT).all())
    ask(page, "Which company makes the H20 chip and was it approved for sale?")
    wait_for_bot_messages(page, before + 1)
    text = last_bot(page).inner_text()
    assert "do not mention H20" in text and "The articles do not cover this question." in text
    assert last_bot(page).locator("a.cite").count() == 0, f"a refusal cites nothing: {text}"
    shoot(page, "12-h20-refused")
    assert_all_local(requests_seen)


def upload_articles(page, paths) -> None:
    """Add articles through the Documents tab, one upload of several files, and wait until they are listed and each is
    indexed ("you can ask about it now"; a first article in another language has the collection embedded anew)."""
    page.get_by_role("tab", name="Documents").click()
    rows = page.locator("#documents-table tbody tr").count()
    page.set_input_files("#upload input[type=file]", [str(p) for p in paths])
    page.wait_for_function("([n]) => document.querySelectorAll('#documents-table tbody tr').length >= n",
                           arg=[rows + len(paths)], timeout=ANSWER_TIMEOUT_S * 1000)
    page.wait_for_function("(names) => names.every(n => document.querySelector('#documents-status').innerText"
                           ".includes(n + '; you can ask about it now'))",
                           arg=[p.name for p in paths], timeout=ANSWER_TIMEOUT_S * 1000)
    page.get_by_role("tab", name="Chat").click()


def test_who_leads_now_is_answered_from_the_newest_article_and_says_as_of_when(page, requests_seen):
    harwick = sorted(TEMPORAL_CORPUS.glob("harwick-rail-*.md")) + sorted(TEMPORAL_CORPUS.glob("hartwick-*.md"))
    upload_articles(page, harwick)
    before = len(page.locator(BOT).all())
    ask(page, "Who leads Harwick Rail now?")
    wait_for_bot_messages(page, before + 1)
    answer = last_bot(page)
    text = answer.inner_text()
    assert "Ruiz" in text and "Brandt" not in text.split("(")[0].split(".")[0], text  # the current chief first
    as_of = answer.locator(".as-of").inner_text()
    assert re.search(r"As of \d+ \w+ (2023|2025)", as_of) and "today is" in as_of, as_of
    shoot(page, "13-who-leads-now")
    assert_all_local(requests_seen)


def test_how_did_it_change_is_shown_as_a_dated_cited_timeline(page, requests_seen):
    before = len(page.locator(BOT).all())
    ask(page, "How has the leadership of Harwick Rail changed over time?")
    wait_for_bot_messages(page, before + 1)
    answer = last_bot(page)
    events = answer.locator("ol.timeline li")
    assert events.count() >= 3, answer.inner_text()
    years = [int(re.search(r"(\d{4})$", events.nth(i).locator("time").inner_text()).group(1)) for i in range(events.count())]
    assert years == sorted(years) and years[0] <= 2018 and years[-1] >= 2023, years  # oldest first, the whole story
    assert all(events.nth(i).locator("a.cite").count() == 1 for i in range(events.count()))  # every line cited
    assert "no model call" in answer.inner_text()  # built from the articles' own sentences
    answer.locator("a.cite").first.click()
    assert page.locator("#sources mark").count() >= 1  # the quoted sentence is highlighted in its source
    shoot(page, "14-timeline")
    assert_all_local(requests_seen)


def test_a_chinese_question_is_answered_in_chinese_from_a_chinese_article_and_an_english_one_too(page, tmp_path,
                                                                                               requests_seen):
    article = tmp_path / "qinghe-ferries.md"
    article.write_text(CHINESE_ARTICLE, encoding="utf-8")
    upload_articles(page, [article])
    before = len(page.locator(BOT).all())
    ask(page, CHINESE_QUESTION)
    wait_for_bot_messages(page, before + 1)
    answer = last_bot(page)
    text = answer.inner_text()
    assert "4200" in text and re.search(r"[\u4e00-\u9fff]{4}", text.split("As of")[0]), text  # in Chinese, with the figure
    answer.locator("a.cite").first.click()
    highlighted = " ".join(page.locator("#sources mark").all_inner_texts())
    assert "4200万元" in highlighted, highlighted  # the cited Chinese sentence, highlighted in its own language
    shoot(page, "15-chinese-answer")
    ask(page, CHINESE_QUESTION_IN_ENGLISH)
    wait_for_bot_messages(page, before + 2)
    text = last_bot(page).inner_text()
    assert re.search(r"42 million|4200|42,000,000", text) and last_bot(page).locator("a.cite").count() >= 1, text
    shoot(page, "16-english-question-chinese-article")
    page.click("#translate")  # offered: the answer cites a Chinese passage for an English question
    page.wait_for_selector("#sources details[open] .source-translation", timeout=ANSWER_TIMEOUT_S * 1000)
    translated = page.locator("#sources details[open] .source-translation").first
    assert "Machine translation by the local model — not the article's words" in translated.inner_text()
    assert re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", translated.locator("p").inner_text())  # in English
    highlighted = " ".join(page.locator("#sources details[open] mark").all_inner_texts())
    assert "4200万元" in highlighted, highlighted  # the citation stays the article's own sentence, highlighted
    page.wait_for_selector("#translate", state="hidden")  # every passage to translate is translated
    shoot(page, "17-translated-passage")


def test_adding_a_loopback_page_by_link_is_refused_in_one_sentence(page, app_server, site, requests_seen):
    """The app adds public pages only: a page served on the machine itself (a hostile site played by this test on
    127.0.0.1), however its address is written, is refused in one sentence and never asked for."""
    from rag.text import inert

    page.get_by_role("tab", name="Documents").click()
    before = sorted(p.name for p in app_server.corpus.iterdir())
    for host, rule in (("127.0.0.1", "127.0.0.1 is a loopback address"),
                       ("localhost", "localhost resolves to 127.0.0.1, a loopback address"),
                       ("0x7f000001", "the host '0x7f000001' is an address written as a number")):
        url = f"http://{host}:{site.port}/secret.html"
        page.fill("#link textarea", url)
        page.click("#link-add")
        page.wait_for_function("(u) => document.querySelector('#documents-status').innerText.includes(u)",
                               arg=f"{host}:{site.port}/secret.html: ", timeout=60_000)
        status = page.inner_text("#documents-status").strip()
        assert status.startswith(f"⚠️ Not added: {inert(url)}: {rule}") and "\n" not in status, status
        assert status.endswith(".") and "Traceback" not in status and page.input_value("#link textarea") == url
    assert site.requests == [], "the app fetched a page on its own machine"
    assert sorted(p.name for p in app_server.corpus.iterdir()) == before
    shoot(page, "13-loopback-link-refused")
    assert_all_local(requests_seen)

"""The OpenAI-compatible /v1 endpoint: its pure parts, then the official ``openai`` client against the real app.

Beyond loopback the endpoint needs the key: tests/test_access.py (it has the password-protected app).
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from rag.web.openai_api import chunk_body, completion_body, last_chunk, shown_content, sse, stream_epilogue
from rag.web.openai_requests import MODEL_ID, ApiError, conversation, parse_request, read_json
from tests.app_fixtures import (NEW_ARTICLE_DATE, NEW_ARTICLE_QUESTION, app_server, article_files,  # noqa: F401
                                model_file, upload)
from tests.conftest import SEED_QUESTION

CITATION_KEYS = {"n", "doc_id", "title", "source", "date", "chunk_id", "text", "start", "end", "supported"}
REFUSAL = "The articles do not answer this question."
ASK = [{"role": "user", "content": SEED_QUESTION}]
ANSWER = {"answer": "Because of China [1].", "refused": False, "standalone_question": "Why?",
          "citations": [{"n": 1, "doc_id": "d", "title": "T", "source": "a.md", "chunk_id": "c", "text": "China.",
                         "start": 0, "end": 6, "supported": True}],
          "timings": {"prompt_tokens": 400, "completion_tokens": 7}}


# -- pure parts: request checking and response building, no model --------------------------------

@pytest.mark.parametrize("body, param", [
    ([], None), ({"messages": []}, "messages"), ({"messages": "Why?"}, "messages"),
    ({"messages": [{"role": "wizard", "content": "Why?"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Hm."}]}, "messages"),
    ({"messages": [{"role": "user", "content": "   "}]}, "messages"),
    ({"messages": [{"role": "user", "content": "x" * 4001}]}, "messages"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     "messages[0].content"),
    ({"messages": ASK, "model": "gpt-4o"}, "model"), ({"messages": ASK, "n": 2}, "n"),
    ({"messages": ASK, "stream": "yes"}, "stream"), ({"messages": ASK, "temperature": 2.5}, "temperature"),
    ({"messages": ASK, "temperature": "hot"}, "temperature"), ({"messages": ASK, "max_tokens": 8}, "max_tokens"),
    ({"messages": ASK, "max_tokens": 64.5}, "max_tokens"),
    ({"messages": ASK, "max_completion_tokens": 100000}, "max_completion_tokens"),
    # issue 16: each of these was a 500
    ({"messages": ASK, "max_tokens": float("inf")}, "max_tokens"), ({"messages": ASK, "max_tokens": 10 ** 30}, "max_tokens"),
    ({"messages": ASK, "temperature": float("nan")}, "temperature"),
    ({"messages": [{"role": ["user"], "content": "Why?"}]}, "messages[0].role"),
    ({"messages": [{"role": {"a": 1}, "content": "Why?"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": 7}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": [7]}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": ["x"]}]}]}, "messages[0].content"),
    ({"messages": ["Why?"]}, "messages[0].role"), ({"messages": ASK, "model": ["rag"]}, "model"),
    ({"messages": ASK, "n": [1]}, "n"), ({"messages": ASK, "stream": [True]}, "stream"),
    ({"messages": ASK, "max_tokens": "64"}, "max_tokens"), ({"messages": ASK, "temperature": [0]}, "temperature"),
    ({"messages": [{"role": "user", "content": "x" * 4001}, {"role": "assistant", "content": "ok"}, *ASK]},
     "messages[0].content"),  # an earlier question over the limit: the follow-up rewrite would read all of it
])
def test_invalid_requests_are_400_naming_the_field(body, param):
    with pytest.raises(ApiError) as caught:
        parse_request(body, 4000)
    assert caught.value.status == 400 and caught.value.param == param
    error = caught.value.body()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"


@pytest.mark.parametrize("raw, says", [
    (b'{"messages": [], "max_tokens": Infinity}', "Infinity is not a JSON number"),
    (b'{"max_tokens": NaN}', "NaN is not a JSON number"), (b'{"max_tokens": -Infinity}', "-Infinity"),
    (b'{"max_tokens": 1e400}', "1e400 is too large a number"), (b"[" * 100_000, "nested too deeply"),
    (b'{"messages": [', "not valid JSON"), (b"\xff\xfe{", "not valid JSON"), (b'{"a": 1}' + b" " * 4_000_001, "over 4 MB"),
])
def test_a_body_that_is_not_plain_json_is_a_400(raw, says):
    with pytest.raises(ApiError) as caught:
        read_json(raw)
    assert caught.value.status == 400 and says in str(caught.value)
    assert set(caught.value.body()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("raw, param", [
    (b'{"messages": [{"role": "user", "content": "Why?"}], "max_tokens": Infinity}', None),
    (b"[" * 100_000, None), (b'{"messages": [{"role": ["user"], "content": "Why?"}]}', "messages[0].role"),
    (b'{"messages": "' + b"x" * 4_100_000 + b'"}', "messages"),
])
def test_the_route_answers_a_malformed_body_with_a_400_before_the_model_is_asked(raw, param):
    """The /v1 handler in process, on a stand-in with settings only (a malformed request never reaches the model)."""
    import asyncio
    from types import SimpleNamespace

    import httpx
    from starlette.applications import Starlette

    from rag.settings import Settings
    from rag.web.openai_api import OpenAIFace

    app = Starlette(routes=OpenAIFace(SimpleNamespace(settings=Settings())).routes())

    async def post():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.post("/v1/chat/completions", content=raw)

    response = asyncio.run(post())
    assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text[:300]


def test_a_long_assistant_turn_is_accepted_since_only_its_start_is_read():
    messages = [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "Ann. " * 5000}, *ASK]
    assert parse_request({"messages": messages}, 4000).history[0][0] == "Who?"


def test_a_request_maps_to_question_history_and_settings_and_unknown_fields_are_ignored():
    body = {"model": MODEL_ID, "stream": True, "temperature": 0.2, "max_completion_tokens": 64, "top_p": 0.5,
            "tools": [{"type": "function"}], "user": "me", "stream_options": {"include_usage": True},
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who?"},
                         {"role": "assistant", "content": [{"type": "text", "text": "Altman [1]."}]},
                         {"role": "user", "content": "Why?"}]}
    asked = parse_request(body, 4000)
    assert (asked.question, asked.history, asked.stream, asked.temperature, asked.max_tokens) == \
        ("Why?", (("Who?", "Altman [1]."),), True, 0.2, 64)
    assert parse_request({"messages": ASK}, 4000).max_tokens is None  # absent: the app's settings apply


def test_history_pairs_each_user_turn_with_the_reply_after_it():
    messages = [{"role": "user", "content": "A?"}, {"role": "user", "content": "B?"},
                {"role": "assistant", "content": "b."}, {"role": "tool", "content": "{}"},
                {"role": "assistant", "content": "extra."}, {"role": "user", "content": "C?"}]
    assert conversation(messages) == ("C?", (("B?", "b."),))


def test_completion_and_chunks_have_the_openai_shape_plus_citations():
    body = completion_body(ANSWER, "chatcmpl-1", 7, max_tokens=7)
    assert body["object"] == "chat.completion" and body["model"] == MODEL_ID
    assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "Because of China [1]."},
                                "logprobs": None, "finish_reason": "length"}]  # all 7 tokens used
    assert body["usage"] == {"prompt_tokens": 400, "completion_tokens": 7, "total_tokens": 407}
    assert body["citations"] == ANSWER["citations"] and body["refused"] is False
    last = last_chunk(ANSWER, "chatcmpl-1", 7, max_tokens=256)
    assert last["object"] == "chat.completion.chunk" and last["choices"][0]["delta"] == {}
    assert last["choices"][0]["finish_reason"] == "stop" and last["citations"] == ANSWER["citations"]
    assert sse(chunk_body("c", 1, {"content": "Hi"})).startswith('data: {"id": "c", "object": "chat.completion.chunk"')
    assert sse("[DONE]") == "data: [DONE]\n\n"


def test_the_content_shows_the_verdict_of_the_checks():
    unbacked = {**ANSWER, "marked": "Because of China [1] (not found in the sources).",
                "sentences": [{"text": "Because of China.", "cited": [1], "supported": False, "check": 0.1}]}
    assert shown_content(unbacked) == unbacked["marked"]
    assert completion_body(unbacked, "c", 7, 256)["sentences"] == unbacked["sentences"]
    assert stream_epilogue(unbacked) == "\n\n(Not found in the sources: “Because of China.”)"
    assert stream_epilogue({**ANSWER, "sentences": [{"text": "x", "supported": True}]}) == ""
    refused = {**ANSWER, "refused": True, "answer": REFUSAL, "reason": "The articles found do not mention H20."}
    assert shown_content(refused) == f"{REFUSAL} (The articles found do not mention H20.)"
    assert stream_epilogue(refused, "Huawei makes it [1].") == "\n\n" + shown_content(refused)
    said = {**refused, "reason": ""}
    assert stream_epilogue(said, REFUSAL) == ""  # the model refused by itself: nothing to add


# -- the real app through the official client ----------------------------------------------------

@pytest.fixture(scope="module")
def client(app_server):
    from openai import OpenAI

    return OpenAI(base_url=app_server.url + "v1", api_key="not-needed-on-loopback", timeout=600, max_retries=0)


def streamed(client, messages, max_tokens, record=None):
    """Stream an answer: (chunks, [(arrival time, content piece)])."""
    chunks, pieces = [], []
    for chunk in client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=max_tokens, stream=True):
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append((time.monotonic(), chunk.choices[0].delta.content))
    if record is not None:
        record.append((chunks, pieces))
    return chunks, pieces


def test_models_lists_the_one_model_with_its_gguf(client):
    (model,) = client.models.list().data
    assert model.id == MODEL_ID and model.metadata["file"].endswith(".gguf") and model.metadata["n_ctx"] > 0


def test_answer_with_checked_citations(client):
    completion = client.chat.completions.create(model=MODEL_ID, messages=ASK, temperature=0, max_tokens=96)
    content, extra = completion.choices[0].message.content, completion.model_extra
    assert not extra["refused"] and extra["citations"], content
    assert all(set(c) == CITATION_KEYS for c in extra["citations"])
    assert all(f"[{c['n']}]" in content for c in extra["citations"])
    assert any(c["supported"] for c in extra["citations"]), extra["citations"]
    assert completion.usage.prompt_tokens > 100 and 0 < completion.usage.completion_tokens <= 96
    assert completion.choices[0].finish_reason in ("stop", "length")


def test_streamed_answer_token_by_token_with_citations_in_the_last_chunk(client):
    chunks, pieces = streamed(client, ASK, 48)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len(pieces) >= 5 and pieces[-1][0] > pieces[0][0], "the answer should arrive in many pieces over time"
    assert len({c.id for c in chunks}) == 1
    last = chunks[-1].model_extra
    assert chunks[-1].choices[0].finish_reason in ("stop", "length") and not last["refused"]
    assert last["citations"] and all(set(c) == CITATION_KEYS for c in last["citations"])
    text = "".join(p for _, p in pieces)
    assert all(f"[{c['n']}]" in text for c in last["citations"])
    assert last["answer"].split(" [")[0] in text  # the checked text the deltas were (markers aside)
    assert chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_a_question_the_articles_do_not_answer_is_refused(client, stream):
    messages = [{"role": "user", "content": "How long should I boil an egg to get a soft, runny yolk?"}]
    if stream:
        chunks, pieces = streamed(client, messages, 32)
        content, extra = "".join(p for _, p in pieces), chunks[-1].model_extra
    else:
        completion = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=32)
        content, extra = completion.choices[0].message.content, completion.model_extra
    assert extra["refused"] is True and extra["citations"] == [] and extra["reason"]
    assert content.strip() == f"{REFUSAL} ({extra['reason']})"  # the refusal says why, where the reader sees it


def test_a_code_no_article_names_is_refused_saying_so(client):
    messages = [{"role": "user", "content": "Which company makes the H20 chip and was it approved for sale?"}]
    completion = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=64)
    assert completion.model_extra["refused"] is True
    assert completion.model_extra["reason"] == "The articles found do not mention H20."
    assert "do not mention H20" in completion.choices[0].message.content


def test_a_follow_up_uses_the_earlier_turns(client):
    messages = [{"role": "user", "content": "What does Sam Altman think about China's AI progress?"},
                {"role": "assistant", "content": "He thinks it is multi-layered and that America may underestimate it [1]."},
                {"role": "user", "content": "And what does he think about export controls?"}]
    completion = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=64)
    rewritten = completion.model_extra["standalone_question"].lower()
    assert "altman" in rewritten and "export" in rewritten, rewritten  # "he" resolved from the history
    assert not completion.model_extra["refused"] and completion.choices[0].message.content.strip()


@pytest.mark.parametrize("change, param", [
    (dict(temperature=5), "temperature"), (dict(max_tokens=2), "max_tokens"), (dict(messages=[]), "messages"),
    (dict(model="gpt-4o"), "model"),
])
def test_a_bad_request_is_400_with_an_openai_error(client, change, param):
    import openai

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**{"model": MODEL_ID, "messages": ASK, **change})
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == param and caught.value.body["type"] == "invalid_request_error"


def test_two_concurrent_streams_are_answered_one_after_the_other(client):
    """The model serves one answer at a time: one stream's tokens all come before the other's first token."""
    record: list = []
    questions = [SEED_QUESTION, "Which open-weight models did OpenAI release?"]
    threads = [threading.Thread(target=streamed, args=(client, [{"role": "user", "content": q}], 32, record))
               for q in questions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert len(record) == 2, "both streams should finish"
    (chunks_a, a), (chunks_b, b) = sorted(record, key=lambda r: r[1][0][0])
    assert a and b and a[-1][0] < b[0][0], "the second stream's first token came before the first stream ended"
    assert {c.id for c in chunks_a}.isdisjoint({c.id for c in chunks_b})
    assert len({c.id for c in chunks_a}) == len({c.id for c in chunks_b}) == 1
    assert all(chunks[-1].choices[0].finish_reason for chunks in (chunks_a, chunks_b))


# -- chat front ends' background tasks and unknown routes -----------------------------------------

@pytest.mark.parametrize("task", ["title_generation", "tags_generation", "follow_up_generation"])
def test_open_webui_task_requests_are_answered_at_once_without_the_model(client, task):
    """Open WebUI's title/tags/follow-ups requests (tests/data/openwebui_tasks.json): the JSON asked for, no model call."""
    from tests.test_tasks import RECORDED

    body = RECORDED["requests"][task]
    started = time.monotonic()
    if body["stream"]:
        chunks = list(client.chat.completions.create(model=MODEL_ID, messages=body["messages"], stream=True))
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        extra = chunks[-1].model_extra
    else:
        completion = client.chat.completions.create(model=MODEL_ID, messages=body["messages"])
        content, extra = completion.choices[0].message.content, completion.model_extra
        assert completion.usage.completion_tokens == 0
    assert time.monotonic() - started < 2, "a task request should not wait for the model"
    assert json.loads(content) == RECORDED["expected"][task]
    assert extra["citations"] == [] and extra["refused"] is False


@pytest.mark.parametrize("method, path, status", [("GET", "v1/embeddings", 404), ("POST", "v1/completions", 404),
                                                  ("GET", "v1/chat/completions", 405), ("DELETE", "v1/models", 405),
                                                  ("GET", "v1/", 404)])
def test_unknown_v1_routes_answer_openai_error_json(app_server, method, path, status):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(app_server.url + path, method=method, data=b"{}" if method == "POST" else None)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == status and caught.value.headers["content-type"].startswith("application/json")
    error = json.loads(caught.value.read())["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]


# -- malformed requests on the real server, sent raw (issue 16: each was a 500) ---------------------

@pytest.mark.parametrize("raw, param", [
    (b'{"model": "rag", "messages": [{"role": "user", "content": "Why?"}], "max_tokens": Infinity}', None),
    (b'{"model": "rag", "messages": [{"role": "user", "content": "Why?"}], "max_tokens": 1e400}', None),
    (b'{"model": "rag", "messages": [{"role": ["user"], "content": "Why?"}]}', "messages[0].role"),
    (b"[" * 100_000, None),
    (json.dumps({"model": "rag", "messages": [{"role": "user", "content": "x" * 1_000_000},
                                              {"role": "assistant", "content": "ok"}, *ASK]}).encode(), "messages[0].content"),
    (json.dumps({"model": "rag", "messages": [{"role": "user", "content": "x " * 2_500_000}]}).encode(), "messages"),
])
def test_malformed_requests_on_the_server_are_400s_naming_the_field(app_server, raw, param):
    import httpx

    response = httpx.post(app_server.url + "v1/chat/completions", content=raw, timeout=120,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text[:500]
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"], error


def test_v1_content_carries_no_live_link_or_image(client, app_server):
    """An article that asks for its poster as an image: what /v1 sends (streamed and not) is inert (issue 16)."""
    from gradio_client import Client, handle_file

    from tests.app_fixtures import POSTER_ARTICLE, POSTER_QUESTION

    poster = app_server.home.parent / "vellmora-poster.md"
    poster.write_text(POSTER_ARTICLE, encoding="utf-8")
    gradio = Client(app_server.url, verbose=False, download_files=False)
    assert gradio.predict(handle_file(str(poster)), api_name="/upload")["saved"] == ["vellmora-poster.md"]
    messages = [{"role": "user", "content": POSTER_QUESTION}]
    try:
        completion = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=96)
        chunks, pieces = streamed(client, messages, 96)
    finally:
        doc = next(d["doc_id"] for d in gradio.predict(api_name="/documents") if d["source"] == "vellmora-poster.md")
        gradio.predict(doc, api_name="/delete")
    for text in (completion.choices[0].message.content, "".join(p for _, p in pieces), chunks[-1].model_extra["answer"]):
        assert "elsewhere.example" in text, text  # the model did copy the article's link …
        assert "](" not in text and "http://" not in text and "<http" not in text, text  # … and it went out inert


def test_citations_carry_the_articles_publication_date(client, app_server, article_files):
    """Last in this module: it adds a dated article to the app's corpus."""
    assert upload(app_server, article_files["good"])["saved"] == ["zorblax-festival.md"]
    completion = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": NEW_ARTICLE_QUESTION}],
                                                temperature=0, max_tokens=64)
    cited = completion.model_extra["citations"]
    assert cited and {c["date"] for c in cited if c["title"] == "The Zorblax river festival"} == {NEW_ARTICLE_DATE}, cited

"""The MCP server through the official ``mcp`` client over streamable HTTP, on the real app (offline: the
session-wide socket guard of conftest.py fails any outside connection, and `make test` runs in a namespace
with only loopback).

Beyond loopback it needs the key: tests/test_access.py.
"""
from __future__ import annotations

import asyncio
import json

import pytest

from rag.documents import load_document
from rag.web.mcp_tools import MCP_PATH, TOOL_NAMES
from tests.app_fixtures import NEW_ARTICLE_DATE, app_server, article_files, model_file, upload  # noqa: F401
from tests.conftest import SEED_QUESTION

CITATION_KEYS = {"n", "doc_id", "title", "source", "date", "chunk_id", "text", "start", "end", "supported"}
PASSAGE_KEYS = {"n", "title", "source", "date", "doc_id", "chunk_id", "text", "start", "end", "score", "similarity"}


async def mcp_session(url: str, work, headers=None):
    """Open an MCP session on url, run ``await work(session)`` and return its result."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url, headers=headers, timeout=60, sse_read_timeout=600) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)


def run(app, work, headers=None):
    return asyncio.run(mcp_session(app.url.rstrip("/") + MCP_PATH, work, headers))


def call(app, tool: str, arguments: dict):
    """(is_error, text) of one tool call."""
    async def work(session):
        result = await session.call_tool(tool, arguments)
        return result.isError, "".join(c.text for c in result.content)
    return run(app, work)


def test_exactly_the_three_read_only_tools_with_descriptions(app_server):
    async def work(session):
        return (await session.list_tools()).tools
    tools = {tool.name: tool for tool in run(app_server, work)}
    assert set(tools) == set(TOOL_NAMES)  # not the page's /ask, /chat, /upload, /delete, /evaluate, /documents
    assert "citing" in tools["ask_articles"].description and "without writing an answer" in tools["search_articles"].description
    assert tools["ask_articles"].inputSchema["required"] == ["question"]
    assert set(tools["search_articles"].inputSchema["properties"]) == {"query", "k", "collection"}
    assert set(tools["list_articles"].inputSchema["properties"]) == {"collection"}  # optional: the default one


def test_list_articles(app_server):
    error, text = call(app_server, "list_articles", {})
    assert not error
    (article,) = json.loads(text)
    assert article["source"] == "altman-china-ai-open-weights.md" and article["chunks"] > 0 and article["complete"]


def test_search_articles_returns_passages_with_their_offsets(app_server):
    error, text = call(app_server, "search_articles", {"query": SEED_QUESTION, "k": 3})
    assert not error, text
    passages = json.loads(text)
    assert 1 <= len(passages) <= 3 and [p["n"] for p in passages] == list(range(1, len(passages) + 1))
    assert all(set(p) == PASSAGE_KEYS for p in passages)
    assert any("gpt-oss" in p["text"] for p in passages)
    article = load_document(app_server.corpus / passages[0]["source"])
    for passage in passages:  # the offsets point at the passage in the article's text
        assert article.text[passage["start"]:passage["end"]] == passage["text"]


def test_search_articles_refuses_a_k_out_of_bounds(app_server):
    error, text = call(app_server, "search_articles", {"query": SEED_QUESTION, "k": 50})
    assert error and "between 1 and 20" in text


def test_ask_articles_answers_with_checked_citations(app_server):
    error, text = call(app_server, "ask_articles", {"question": SEED_QUESTION})
    assert not error, text
    answer = json.loads(text)
    assert not answer["refused"] and answer["citations"], answer["answer"]
    assert all(set(c) == CITATION_KEYS for c in answer["citations"])
    assert all(f"[{c['n']}]" in answer["answer"] for c in answer["citations"])


@pytest.mark.parametrize("tool", ["ask", "upload", "delete", "evaluate", "chat"])
def test_the_page_endpoints_are_not_tools(app_server, tool):
    error, text = call(app_server, tool, {})
    assert error and "Unknown tool" in text


@pytest.mark.parametrize("suffix", ["/", ""], ids=["trailing-slash", "no-trailing-slash"])
def test_both_url_forms_serve_the_tools(app_server, suffix):
    """docs/api.md gives both forms: some clients (MCP Inspector 0.15) fail on one of them."""
    async def work(session):
        return sorted(tool.name for tool in (await session.list_tools()).tools)

    url = app_server.url.rstrip("/") + MCP_PATH.rstrip("/") + suffix
    assert asyncio.run(mcp_session(url, work)) == sorted(TOOL_NAMES)


def test_search_and_list_give_each_articles_publication_date(app_server, article_files):
    """Last in this module: it adds a dated article to the app's corpus."""
    assert upload(app_server, article_files["good"])["saved"] == ["zorblax-festival.md"]
    error, text = call(app_server, "search_articles", {"query": "Zorblax river festival founded", "k": 2})
    assert not error, text
    assert json.loads(text)[0]["date"] == NEW_ARTICLE_DATE
    error, text = call(app_server, "list_articles", {})
    dates = {article["source"]: article["date"] for article in json.loads(text)}
    assert dates == {"altman-china-ai-open-weights.md": "", "zorblax-festival.md": NEW_ARTICLE_DATE}


def test_every_text_a_tool_returns_is_inert(app_server, article_files):
    """Last in this module: it adds the article that asks for an image and links elsewhere (app_fixtures)."""
    from test_faces import live_strings

    assert upload(app_server, article_files["hostile"])["saved"] == ["vellmora-poster.md"]
    error, text = call(app_server, "search_articles", {"query": "Vellmora lantern poster carved heron", "k": 3})
    assert not error, text
    found = json.loads(text)
    assert any("http(:)//elsewhere.example/poster.png" in p["text"] for p in found), text  # broken, not removed
    assert live_strings(found) == {}
    error, text = call(app_server, "list_articles", {})
    assert not error and live_strings(json.loads(text)) == {}

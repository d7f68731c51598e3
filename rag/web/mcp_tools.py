"""The MCP face: three read-only tools for assistants, served by Gradio's MCP server on the page's port.

Gradio turns every public API endpoint into a tool named after its function; ``only_these_tools`` keeps
the three below and drops the page's own endpoints (/ask, /chat, /upload, /delete, /evaluate, /documents),
so no tool writes to the corpus. The URL is ``/gradio_api/mcp/`` (streamable HTTP).
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import asdict

import gradio as gr

from ..errors import RagError
from ..pipeline import Assistant, check_question
from ..safety import without_instructions
from ..text import inert
from .chat import GENERIC_ERROR, log
from .openai_requests import bounds

TOOL_NAMES = ("ask_articles", "search_articles", "list_articles")
MCP_PATH = "/gradio_api/mcp/"


def passage_json(n: int, passage) -> dict:
    """A search hit as an assistant reads it: rank, where it comes from, its text, offsets and scores; every text
    inert (text.inert), since an assistant quotes what it reads into replies that are rendered."""
    return {"n": n, "title": inert(passage.title), "source": inert(passage.source), "date": passage.date,
            "doc_id": passage.doc_id, "chunk_id": passage.chunk_id, "text": inert(passage.text), "start": passage.start,
            "end": passage.end, "score": round(passage.score, 6),
            "similarity": None if passage.similarity is None else round(passage.similarity, 4)}


def answer_json(answer) -> dict:
    """ask_articles' result: the answer JSON (Answer.to_json) with its citations' text inert too — unlike /v1 and
    ``rag ask --json``, where it stays the article's exact text for clients that highlight by offsets."""
    record = answer.to_json()
    record["citations"] = [{**c, "text": inert(c["text"])} for c in record["citations"]]
    return record


def document_json(document, collection: str) -> dict:
    """list_articles' entry for an indexed document, its title and file name inert."""
    return {**asdict(document), "title": inert(document.title), "source": inert(document.source),
            "collection": collection}


def as_json(value) -> str:
    """What a tool returns: JSON text, which an assistant reads as is (Gradio would show a dict as Python's repr).

    ``as_json({'n': 1, 'title': 'Café'}) -> '{"n": 1, "title": "Café"}'``
    """
    return json.dumps(value, ensure_ascii=False)


class Tools:
    """The MCP tools; Gradio reads each one's name, docstring and type hints for the tool's description."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def pick(self, collection: str = "") -> Assistant:
        """The assistant over that collection (the default one for ""); an unknown name is the tool's error."""
        try:
            return self.assistant.in_collection(collection or None)
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def ask_articles(self, question: str, collection: str = "") -> str:
        """Answer a question from the indexed news articles with a local model, citing the passages it used.

        Each sentence of the answer ends with [n] markers; every cited source has been checked against the
        sentence that cites it (supported true/false). When the articles do not contain the answer, the answer is
        "The articles do not answer this question." with refused true. Takes a few seconds on a CPU.

        Args:
            question: The question in plain words; it must stand alone (this tool keeps no conversation).
            collection: The collection of articles to answer from, by name (list_articles with "*" shows them); empty
                for the default collection.

        Returns:
            JSON: answer, marked (the answer with each sentence the checks do not back marked "(not found in the
            sources)"), refused, reason (why it refused, e.g. "The articles found do not mention H20."), sentences
            [{text, cited, supported, check}], citations [{n, doc_id, title, source, date, chunk_id, text, start, end,
            supported}], sources, timings, model. Every text has its links and images broken by a space or
            parentheses (nothing removed), so it can be quoted into a rendered reply as it is.
        """
        assistant = self.pick(collection)
        try:
            return as_json(answer_json(assistant.ask(question)))
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("MCP ask_articles %r failed", question)
            raise gr.Error(GENERIC_ERROR, print_exception=False) from None

    def search_articles(self, query: str, k: int = 4, collection: str = "") -> str:
        """Find the passages of the indexed news articles that best match a query, without writing an answer.

        Fast (no language model): read the passages and cite them yourself by title and source. Hybrid search
        (embeddings, RAG_EMBEDDER, and BM25, fused by reciprocal rank); instruction-like sentences are left out.

        Args:
            query: What to look for, in plain words.
            k: How many passages to return, 1 to 20.
            collection: The collection to search, by name; empty for the default collection.

        Returns:
            JSON list, best first: [{n, title, source, date, doc_id, chunk_id, text, start, end, score, similarity}]; start/end are character offsets in the article's text. Links and images in the texts are broken by a space or parentheses (nothing removed), so a text may be a little longer than end - start.
        """
        low, high = bounds("top_k")
        try:
            assistant = self.pick(collection)
            query = check_question(query, assistant.settings.max_question_chars)
            if not low <= int(k) <= high:
                raise gr.Error(f"k must be between {low:g} and {high:g}; got {k}.", print_exception=False)
            s = assistant.settings
            found = assistant.retriever.search(query, int(k), s.candidates, s.retrieval, s.prefer_numbers)
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return as_json([passage_json(n, p) for n, p in enumerate(without_instructions(found), 1)])

    def list_articles(self, collection: str = "") -> str:
        """List the news articles in a collection's index: title, source file name, doc_id, number of chunks, and
        which collection each is in.

        Args:
            collection: The collection, by name; empty for the default collection; "*" lists every collection's.

        Returns:
            JSON list sorted by title: [{doc_id, title, source, chunks, indexed_at, complete, date, collection}].
        """
        from .. import catalog

        names = [c.name for c in catalog.list_collections(self.assistant.settings)] if collection == "*" else [collection]
        listed = []
        for name in names:
            assistant = self.pick(name)
            shown = catalog.find(self.assistant.settings, name or None).name
            listed += [document_json(d, shown) for d in assistant.index.documents()]
        return as_json(listed)


def add_tools(tools: Tools) -> None:
    """Register the three tools as API endpoints (outside the queue: MCP's fast path; the model has its own lock)."""
    for name in TOOL_NAMES:
        gr.api(getattr(tools, name), api_name=name, queue=False)


@contextlib.asynccontextmanager
async def only_these_tools(app):
    """FastAPI lifespan: before the server accepts a connection, the MCP server keeps only TOOL_NAMES."""
    server = app.get_blocks().mcp_server_obj
    if server is not None:
        server.tool_to_endpoint = {name: endpoint for name, endpoint in server.tool_to_endpoint.items()
                                   if name in TOOL_NAMES}
    yield

"""The web room: the browser chat, its documents and evaluation tabs, and its HTTP API, on Gradio.

``layout`` builds the page; ``chat``, ``library`` and ``scoring`` hold the handlers of its three tabs;
``presentation`` turns answers and sources into escaped Markdown/HTML; ``uploads`` checks and saves
uploaded files, ``links`` adds pages and feeds by their link, ``indexing`` is the index queue they share
(and the start-up's catch-up); ``access`` decides who may connect; ``openai_api`` (with ``openai_requests``) and ``mcp_tools``
are the OpenAI-compatible and MCP faces on the same server. It imports the pipeline (``rag.*`` stage modules),
the evaluation room and ``rag.cli`` (for the setting flags); nothing in the pipeline imports it, and
only ``app.py`` (the entry point) starts it.
"""

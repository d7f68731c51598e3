"""The browser chat, its OpenAI-compatible /v1 endpoint and its MCP server: ``python app.py [--host H] [--port P]``
(or ``make run``), all on http://127.0.0.1:7860.

Entry point only: read the settings, check who may connect, load the Assistant once (model,
embedder, index), index a collection first only when its index is empty, then serve the page built by
rag/web/layout.py and bring the other indexes in step with their folders behind it (rag/web/indexing.py).
"""
from __future__ import annotations

import rag  # noqa: F401  first: turns Gradio analytics and all other telemetry off before gradio loads

import argparse
import logging
import sys
from typing import Optional

from rag import catalog
from rag.cli import COMMON_FLAGS, add_setting_flags
from rag.errors import RagError
from rag.pipeline import Assistant
from rag.settings import Settings
from rag.web.access import check_access
from rag.web.indexing import IndexQueue
from rag.web.layout import build_app, launch

log = logging.getLogger("rag.app")
FLAGS = ("host", "port", *COMMON_FLAGS)


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Start the browser chat over the articles.")
    add_setting_flags(parser, FLAGS)
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args(argv)
    try:
        settings = Settings.load(**{name: getattr(args, name) for name in FLAGS})
        auth = check_access(settings)
        assistant = Assistant(settings, progress=log.info)
        shelves = [assistant] + [assistant.in_collection(c.name) for c in catalog.list_collections(settings)[1:]]
        later = []
        for shelf in shelves:
            if shelf.index.count() == 0:  # a first start: nothing to answer from until it is indexed
                log.info("Collection %s: %s", shelf.settings.collection, shelf.ingest().summary())
            else:  # anything left undone (a crash mid-upload, files dropped in) is indexed once the page is up
                later.append(shelf)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    queue = IndexQueue()
    launch(build_app(assistant, queue), assistant, auth, serving=lambda: queue.catch_up(later))
    return 0


if __name__ == "__main__":
    sys.exit(main())

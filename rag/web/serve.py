"""The chat's process: read the settings, check who may connect, load the Assistant once (model, embedder,
index), index a collection first only when its index is empty, then serve the page built by layout.py (its /v1 and
its MCP server) and bring the other indexes in step with their folders behind it (indexing.py). ``python app.py``
(the checkout's entry point) and ``rag chat`` (the installed command) both run main().
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional

from ..cli_common import COMMON_FLAGS, add_setting_flags
from ..errors import RagError
from ..settings import Settings
from .access import check_access

log = logging.getLogger("rag.app")
FLAGS = ("host", "port", *COMMON_FLAGS)


def parse_args(argv: Optional[list[str]], prog: Optional[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description="Start the browser chat over the articles.")
    add_setting_flags(parser, FLAGS)
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None, prog: Optional[str] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args(argv, prog)
    try:
        settings = Settings.load(**{name: getattr(args, name) for name in FLAGS})
        auth = check_access(settings)  # before the slow imports: a refused start says so in a second
        from .. import catalog
        from ..pipeline import Assistant
        from .indexing import IndexQueue
        from .layout import build_app, launch

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


"""The Documents tab's handlers: list, upload (with progress) and delete articles; and their API."""
from __future__ import annotations

from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import gradio as gr

from .. import catalog
from ..addresses import Reach
from ..errors import RagError
from ..pipeline import Assistant
from ..sandbox import Reader
from . import presentation as view
from . import tabs
from .chat import GENERIC_ERROR, log
from .indexing import IndexQueue
from .links import import_feed, import_links, left_note
from .uploads import add_uploads, delete_document


def collection_choices(settings) -> list[tuple[str, str]]:
    """(label, name) of each collection for a dropdown, the default one first and marked so."""
    return [(f"{c.name} (default)" if c.default else c.name, c.name) for c in catalog.list_collections(settings)]


class Library:
    """Handlers of the Documents tab (its collection's documents, and the collections) and the /documents, /upload
    and /delete endpoints (the default collection's, or the one named). Every change to a corpus or an index
    takes its turn on the index queue (``queue.turn``); pages added by link are read by a worker of their own
    (``pages``), so a slow page never holds up the reading of an upload."""

    def __init__(self, assistant: Assistant, queue: Optional[IndexQueue] = None):
        self.assistant = assistant
        self.queue = queue or IndexQueue()
        self.pages = Reader(assistant.settings)  # its worker starts at the first link

    def shelf(self, collection: Optional[str]) -> Assistant:
        """The assistant over that collection; one deleted meanwhile (another tab) is the default one's error."""
        return self.assistant.in_collection(collection or None)

    def show_documents(self, collection: Optional[str] = None):
        """(table HTML, dropdown update) of the collection's indexed documents."""
        try:
            docs = self.shelf(collection).index.documents()
        except RagError as exc:
            return view.error_markdown(str(exc)), gr.update(choices=[], value=None)
        choices = tabs.document_choices(docs)
        return tabs.documents_html(docs), gr.update(choices=choices, value=None)

    def collections(self, collection: Optional[str] = None):
        """Both collection dropdowns (this tab's and the chat's) listing every collection, this tab's showing collection."""
        choices = collection_choices(self.assistant.settings)
        shown = collection if any(name == collection for _, name in choices) else choices[0][1]
        return gr.update(choices=choices, value=shown), gr.update(choices=choices)

    def refresh(self, collection: Optional[str] = None):
        """On load or when the tab opens: (collections dropdown, chat's dropdown, table, document dropdown)."""
        return (*self.collections(collection), *self.show_documents(collection))

    def create_collection(self, name: str):
        """Make a new, empty collection and show it. Returns (status, dropdown, chat's dropdown, table, documents)."""
        try:
            with self.queue.turn:
                made = catalog.create(self.assistant.settings, name)
        except RagError as exc:
            return (view.error_markdown(str(exc)), gr.skip(), gr.skip(), gr.skip(), gr.skip())
        return (f"Made the collection “{view.escape(made.name)}”: add articles to it below.", *self.refresh(made.name))

    def rename_collection(self, collection: str, name: str):
        """Rename the shown collection. Returns (status, dropdown, chat's dropdown, table, documents)."""
        try:
            with self.queue.turn:
                renamed = catalog.rename(self.assistant.settings, collection, name)
        except RagError as exc:
            return (view.error_markdown(str(exc)), gr.skip(), gr.skip(), gr.skip(), gr.skip())
        return (f"Renamed to “{view.escape(renamed.name)}”.", *self.refresh(renamed.name))

    def delete_collection(self, confirmed: bool, collection: str):
        """Delete the shown collection once the page's confirmation was accepted (its articles kept aside)."""
        if not confirmed:
            return (gr.skip(),) * 5
        try:
            with self.queue.turn:
                kept = self.assistant.delete_collection(collection)
        except RagError as exc:
            return (view.error_markdown(str(exc)), gr.skip(), gr.skip(), gr.skip(), gr.skip())
        aside = kept.relative_to(catalog.root(self.assistant.settings)).as_posix()  # the page names no server folder
        return (f"Deleted the collection “{view.escape(collection)}” and its index; its articles are kept in the "
                f"collections folder, under `{view.escape(aside)}`.", *self.refresh(None))

    def upload_files(self, files, replace: bool = False, collection: Optional[str] = None, progress=gr.Progress()):
        """Save, check and index uploaded files (replacing same-named articles only when asked) into the shown
        collection; reports each."""
        files = [Path(f) for f in (files or [])]
        try:
            with self.queue.turn:
                result = add_uploads(self.shelf(collection), [(f.name, f) for f in files],
                                     lambda fraction, message: progress(fraction, desc=message), replace=bool(replace))
            message = tabs.upload_message(result.saved, result.failed, result.summary, result.replaced)
        except RagError as exc:
            message = view.error_markdown(str(exc))
        except Exception:
            log.exception("Upload failed")
            message = view.error_markdown(GENERIC_ERROR)
        return (message, *self.show_documents(collection), None)

    def add_link(self, url: str, is_feed: bool = False, collection: Optional[str] = None, progress=gr.Progress()):
        """Fetch a page (or a feed's new entries) into the collection and index it, saying how far it got after each
        page; the link box is emptied when it worked. Fetching happens outside the index queue, each page's indexing
        in a turn of its own; when the page that asked goes away, the import stops at the next page."""
        step = lambda fraction, message: progress(fraction, desc=message)  # noqa: E731
        state, message = None, ""
        try:
            shelf = self.shelf(collection)
            reach, turn = Reach.of(shelf.settings), self.queue.turn
            steps = (import_feed(shelf, url, reach, self.pages, turn, step) if is_feed
                     else import_links(shelf, [url], reach, self.pages, turn, progress=step))
            with closing(steps):  # closed here when the page goes away: nothing more is fetched
                for state in steps:
                    if state.total > 1 and state.done < state.total:
                        yield (view.progress_markdown(f"Added {len(state.result.saved)} of the feed's {state.total} "
                                                      f"new entries so far ({state.done} tried)."),
                               gr.skip(), gr.skip(), gr.skip())
            message = tabs.upload_message(state.result.saved, state.result.failed, state.result.summary)
            if is_feed and not state.result.saved and not state.result.failed:
                message = f"No new entries: the feed's {state.already} articles are all in the corpus already."
            if left_note(state):
                message += "\n\n" + view.escape(left_note(state))
        except RagError as exc:
            state, message = None, view.error_markdown(str(exc))
        except Exception:
            log.exception("Adding a link failed")
            state, message = None, view.error_markdown(GENERIC_ERROR)
        yield (message, *self.show_documents(collection), "" if state and not state.result.failed else url)

    def background(self):
        """When the page loads or the tab opens: the catch-up's progress line, and the timer that polls it while it
        runs. Returns (line, timer)."""
        if self.queue.busy:
            return view.progress_markdown(self.queue.activity), gr.Timer(active=True)
        return (f"✅ {view.escape(self.queue.finished)}" if self.queue.finished else ""), gr.Timer(active=False)

    def background_tick(self, collection: Optional[str] = None):
        """Every tick of that timer: the line, and once the catch-up is done, the timer stopped and the table refreshed.
        Returns (line, timer, table, document dropdown)."""
        line, timer = self.background()
        return (line, timer, gr.skip(), gr.skip()) if self.queue.busy else (line, timer, *self.show_documents(collection))

    def delete_chosen(self, doc_id: Optional[str], collection: Optional[str] = None):
        """Delete the chosen document from the collection's index and corpus folder."""
        if not doc_id:
            return ("Choose a document to delete.", *self.show_documents(collection))
        try:
            with self.queue.turn:
                message = view.escape(delete_document(self.shelf(collection), doc_id))
        except RagError as exc:
            message = view.error_markdown(str(exc))
        return (message, *self.show_documents(collection))

    # -- API (gradio_client) ------------------------------------------------------------------
    def api_documents(self, collection: str = "") -> list:
        """The indexed documents of a collection (empty: the default one): doc_id, title, source, chunks, indexed_at,
        complete, date."""
        try:
            return [asdict(d) for d in self.shelf(collection).index.documents()]
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def api_replace(self, file: Optional[str], collection: str = "") -> dict:
        """Add one article, replacing the corpus file of the same name if there is one: {saved, replaced, failed, summary}."""
        return self.api_upload(file, collection, replace=True)

    def api_upload(self, file: Optional[str], collection: str = "", replace: bool = False) -> dict:
        """Add one article to a collection's corpus (empty: the default one) and index it: {saved, replaced, failed,
        summary}. A name already taken gets a numbered name (``name (2).md``); /replace replaces it instead.
        """
        if not file:
            raise gr.Error("Send a file to upload.", print_exception=False)
        path = Path(file)
        try:
            with self.queue.turn:
                result = add_uploads(self.shelf(collection), [(path.name, path)], replace=bool(replace))
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return {"saved": result.saved, "replaced": result.replaced, "failed": [list(pair) for pair in result.failed],
                "summary": result.summary}

    def api_delete(self, doc_id: str, collection: str = "") -> str:
        """Delete a document (index and corpus file) by doc_id from a collection (empty: the default one)."""
        try:
            with self.queue.turn:
                return delete_document(self.shelf(collection), doc_id)
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

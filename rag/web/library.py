"""The Documents tab's handlers: list, upload (with progress) and delete articles; and their API."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import gradio as gr

from ..errors import RagError
from ..pipeline import Assistant
from . import presentation as view
from .chat import GENERIC_ERROR, log
from .links import add_feed, add_links
from .uploads import add_uploads, delete_document


class Library:
    """Handlers of the Documents tab and the /documents, /upload and /delete endpoints."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def show_documents(self):
        """(table HTML, dropdown update) of the indexed documents."""
        docs = self.assistant.index.documents()
        choices = view.document_choices(docs)
        return view.documents_html(docs), gr.update(choices=choices, value=None)

    def upload_files(self, files, replace: bool = False, progress=gr.Progress()):
        """Save, check and index uploaded files (replacing same-named articles only when asked); reports each."""
        files = [Path(f) for f in (files or [])]
        try:
            result = add_uploads(self.assistant, [(f.name, f) for f in files],
                                 lambda fraction, message: progress(fraction, desc=message), replace=bool(replace))
            message = view.upload_message(result.saved, result.failed, result.summary, result.replaced)
        except RagError as exc:
            message = view.error_markdown(str(exc))
        except Exception:
            log.exception("Upload failed")
            message = view.error_markdown(GENERIC_ERROR)
        return (message, *self.show_documents(), None)

    def add_link(self, url: str, is_feed: bool = False, progress=gr.Progress()):
        """Fetch a page (or a feed's new entries) into the corpus and index it; the link box is emptied when it worked."""
        step = lambda fraction, message: progress(fraction, desc=message)  # noqa: E731
        try:
            result, already = add_feed(self.assistant, url, step) if is_feed else (add_links(self.assistant, [url], step), 0)
            message = view.upload_message(result.saved, result.failed, result.summary)
            if is_feed and not result.saved and not result.failed:
                message = f"No new entries: the feed's {already} articles are all in the corpus already."
        except RagError as exc:
            result, message = None, view.error_markdown(str(exc))
        except Exception:
            log.exception("Adding a link failed")
            result, message = None, view.error_markdown(GENERIC_ERROR)
        return (message, *self.show_documents(), "" if result and not result.failed else url)

    def delete_chosen(self, doc_id: Optional[str]):
        """Delete the chosen document from the index and the corpus folder."""
        if not doc_id:
            return ("Choose a document to delete.", *self.show_documents())
        try:
            message = view.escape(delete_document(self.assistant, doc_id))
        except RagError as exc:
            message = view.error_markdown(str(exc))
        return (message, *self.show_documents())

    # -- API (gradio_client) ------------------------------------------------------------------
    def api_documents(self) -> list:
        """The indexed documents: doc_id, title, source, chunks, indexed_at, complete, date."""
        return [asdict(d) for d in self.assistant.index.documents()]

    def api_replace(self, file: Optional[str]) -> dict:
        """Add one article, replacing the corpus file of the same name if there is one: {saved, replaced, failed, summary}."""
        return self.api_upload(file, replace=True)

    def api_upload(self, file: Optional[str], replace: bool = False) -> dict:
        """Add one article to the corpus and index it: {saved, replaced, failed, summary}.

        A name already taken gets a numbered name (``name (2).md``); /replace replaces it instead.
        """
        if not file:
            raise gr.Error("Send a file to upload.", print_exception=False)
        path = Path(file)
        try:
            result = add_uploads(self.assistant, [(path.name, path)], replace=bool(replace))
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return {"saved": result.saved, "replaced": result.replaced, "failed": [list(pair) for pair in result.failed],
                "summary": result.summary}

    def api_delete(self, doc_id: str) -> str:
        """Delete a document (index and corpus file) by doc_id; returns what was done."""
        try:
            return delete_document(self.assistant, doc_id)
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

"""The index queue: one writer of the corpus and the index at a time, in turn; and the start-up's catch-up.

Uploads, deletes, collection changes and each page added by link take turns on one lock, handed over in
arrival order (concurrency.FairLock): fetching a link happens outside it, so a slow site holds nobody up, and
a feed's pages are indexed one turn each. The app serves before its index is in step with the folders: an
upload cut short by a crash (its file is in the corpus, half of its chunks in the index) is finished in the
background, one file per turn, as are files dropped into the folders while the app was down; questions are
answered meanwhile from what is indexed, and ``activity`` (shown in the Documents tab) says what is being done.
Only a first start, whose index is empty, indexes before serving: there is nothing to answer from yet.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Sequence

from ..concurrency import FairLock
from ..documents import doc_id_for, find_documents, source_name
from ..errors import DocumentError, RagError
from ..manifest import hash_file
from ..sandbox import check_size

log = logging.getLogger("rag.web")


def outdated(index) -> list[Path]:
    """The corpus files whose chunks are not all in the index as made from their bytes today: new, changed, or
    half-written by a process that was killed (their bytes are hashed, never read)."""
    corpus = index.settings.corpus
    files = find_documents([corpus]) if corpus.is_dir() else []
    state = index.stored_state()
    found = []
    for path in files:
        try:
            check_size(path, index.settings.max_document_mb)
            file_hash = hash_file(path)
        except DocumentError:
            found.append(path)  # the ingest says why, in one sentence
            continue
        if not index.unchanged(state.get(doc_id_for(source_name(path, corpus))), file_hash):
            found.append(path)
    return found


class IndexQueue:
    """The turn every writer takes (``turn``), and what the background catch-up is doing (``activity``)."""

    def __init__(self):
        self.turn = FairLock()
        self.activity = ""  # what is being indexed in the background, for the Documents tab; "" when nothing
        self.finished = ""  # what the last catch-up did, once it is done
        self.thread = None

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def catch_up(self, shelves: Sequence) -> threading.Thread:
        """Bring each collection's index (an Assistant per collection) in step with its folder, in the background."""
        self.activity = "Checking the collections' folders against the index…"
        self.thread = threading.Thread(target=self.run, args=(list(shelves),), name="index-catch-up", daemon=True)
        self.thread.start()
        return self.thread

    def run(self, shelves: list) -> None:
        done = []
        for shelf in shelves:
            try:
                done += self.bring_in_step(shelf)
            except RagError as exc:  # a failing disk: the next upload or start tries again
                log.error("Catching up the index of %s failed: %s", shelf.settings.collection, exc)
        self.finished = (f"Finished indexing what the last run left undone: {', '.join(done)}." if done else "")
        self.activity = ""

    def bring_in_step(self, shelf) -> list[str]:
        """One collection: each outdated file in its own turn, then one pass that also drops vanished files."""
        files, names = outdated(shelf.index), []
        for number, path in enumerate(files, 1):
            what = f"Indexing what the last run left undone ({number} of {len(files)}, {path.name})"
            self.activity = what + "…"
            with self.turn:
                report = shelf.ingest([path], progress=lambda fraction, message, what=what: self.show(what, message))
            for source, reason in report.failed:
                log.warning("Catching up: skipped %s", reason)
            names += [Path(source).name for source in report.added + report.updated]
        with self.turn:
            report = shelf.ingest()
        log.info("Collection %s in step with its folder, after finishing what the last run left undone: %s (then %s)",
                 shelf.settings.collection, ", ".join(names) or "nothing", report.summary())
        return names

    def show(self, what: str, message: str) -> None:
        """The progress line: what the catch-up is doing, and the ingest's own words (``1,344 of 4,546 chunks``)."""
        detail = message.split(": ", 1)[1] if ": " in message else ""
        self.activity = f"{what}: {detail}…" if detail else what + "…"

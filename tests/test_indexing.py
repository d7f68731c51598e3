"""The index queue's catch-up: what a killed upload left half-written is found by its bytes and finished in the
background, one file per turn, saying how far it got. Real index and embedder; no model, no app."""
import contextlib
from types import SimpleNamespace

import pytest

from rag.index import WRITE_BATCH, Index
from rag.settings import Settings
from rag.web.indexing import IndexQueue, outdated

SENTENCE = "The harbour authority of Vellmora counted {n} ships waiting at anchor on day {n} of the dock strike. "


class Killed(Exception):
    """What kill -9 would be, in-process: the write stops between two batches."""


class KillAfter:
    """The index's turn, failing on its (batches + 1)-th entry: the document is left half-written, as by a crash."""

    def __init__(self, batches: int):
        self.left = batches

    def __enter__(self):
        self.left -= 1
        if self.left < 0:
            raise Killed

    def __exit__(self, *exc):
        return False


@pytest.fixture
def shelf(isolated_env, embedder):
    settings = Settings.load()
    index = Index(settings, embedder)
    index.ingest()  # the bundled corpus, whole
    return SimpleNamespace(settings=settings, index=index, ingest=index.ingest)


def test_a_half_written_upload_is_found_and_finished_in_the_background(shelf):
    big = shelf.settings.corpus / "vellmora-strike.md"
    big.write_text("# Vellmora strike\n\n" + "".join(SENTENCE.format(n=n) for n in range(1100)), encoding="utf-8")
    shelf.index.turn = KillAfter(1)
    with pytest.raises(Killed):
        shelf.index.ingest([big])
    shelf.index.turn = contextlib.nullcontext()
    [doc] = [d for d in shelf.index.documents() if d.source == big.name]
    assert not doc.complete and doc.chunks == WRITE_BATCH, "the crash left one batch of the document"
    assert outdated(shelf.index) == [big], "only the half-written file needs work; the others are known by their bytes"

    queue, lines, turns = IndexQueue(), [], []
    show = queue.show
    queue.show = lambda what, message: (show(what, message), lines.append(queue.activity))
    turn = queue.turn

    class Counting:  # the queue's own fair lock, counted
        def __enter__(self):
            turns.append(1)
            return turn.__enter__()

        def __exit__(self, *exc):
            return turn.__exit__(*exc)

    queue.turn = Counting()
    queue.catch_up([shelf]).join(300)
    assert not queue.busy and queue.activity == ""
    [doc] = [d for d in shelf.index.documents() if d.source == big.name]
    assert doc.complete and doc.chunks > 2 * WRITE_BATCH
    progress = [line for line in lines if "chunks" in line]
    assert progress[-1] == (f"Indexing what the last run left undone (1 of 1, vellmora-strike.md): {doc.chunks:,} of "
                            f"{doc.chunks:,} chunks…") and len(progress) >= 3, lines
    assert queue.finished == "Finished indexing what the last run left undone: vellmora-strike.md."
    assert len(turns) == 2, "one turn for the file, one for the final pass over the folder"
    assert outdated(shelf.index) == []


def test_nothing_to_do_finishes_at_once_and_says_nothing(shelf):
    queue = IndexQueue()
    queue.catch_up([shelf]).join(60)
    assert (queue.activity, queue.finished) == ("", "")

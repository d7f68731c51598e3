"""The incremental index on a real Chroma: add, skip, replace, remove, repair, and server mode."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.chunks import chunk_document
from rag.documents import find_documents, load_document
from rag.index import Index, index_version, is_complete
from rag.retrieval import Retriever
from rag.settings import Settings
from tests.app_fixtures import free_port

ROOT = Path(__file__).resolve().parent.parent


def chunk_ids(index):
    return index.collection.get(include=[])["ids"]


def test_reingest_skips_replaces_adds_and_removes(index, corpus):
    first = index.ingest()
    assert len(first.added) == 1 and first.chunks_written == index.count() > 5
    again = index.ingest()
    assert (again.unchanged, again.chunks_written) == (first.added, 0)

    article = next(corpus.glob("*.md"))
    article.write_text(article.read_text().replace("DeepSeek", "DeepSeek and Qwen"))
    (corpus / "new.txt").write_text("Quokkas were seen on Rottnest Island in March.")
    report = index.ingest()
    assert report.updated == [article.name] and report.added == ["new.txt"]
    texts = index.collection.get(include=["documents"])["documents"]
    assert any("DeepSeek and Qwen" in t for t in texts)
    assert not any("DeepSeek played" in t for t in texts), "old version of the edited article left behind"

    (corpus / "new.txt").unlink()
    report = index.ingest()
    assert report.removed == ["new.txt"]
    assert not any("Quokkas" in t for t in index.collection.get(include=["documents"])["documents"])
    ids = chunk_ids(index)
    assert len(ids) == len(set(ids)) == sum(d.chunks for d in index.documents())
    assert all(d.complete for d in index.documents())


def stored_ids_by_document(index) -> dict[str, set[str]]:
    got = index.collection.get(include=["metadatas"])
    by_doc: dict[str, set[str]] = {}
    for chunk_id, meta in zip(got["ids"], got["metadatas"]):
        by_doc.setdefault(meta["doc_id"], set()).add(chunk_id)
    return by_doc


def chunked_ids_by_document(corpus, tokens: int, overlap: int) -> dict[str, set[str]]:
    """The ids chunking produces for every corpus document under the given settings."""
    docs = [load_document(path, corpus) for path in find_documents([corpus])]
    return {d.doc_id: {c.chunk_id for c in chunk_document(d.doc_id, d.content_hash, d.text, tokens, overlap)} for d in docs}


@pytest.mark.parametrize("first, second", [((64, 8), (300, 40)), ((300, 40), (64, 8)), ((160, 32), (160, 0))])
def test_changed_chunk_settings_rechunk_every_document_and_leave_no_orphan(index, corpus, first, second):
    (corpus / "heron.txt").write_text("The rowing club on the Elster held its autumn regatta. " * 12
                                      + "\n\nThe winning crew was given a carved wooden heron. " * 10)
    for tokens, overlap in (first, second):
        index.settings = Settings.load(chunk_tokens=tokens, chunk_overlap=overlap)
        report = index.ingest()
        # invariant: the ids in the collection are exactly the ids chunking produces now, for every document
        assert stored_ids_by_document(index) == chunked_ids_by_document(corpus, tokens, overlap)
        assert all(d.complete for d in index.documents())
    assert sorted(report.updated) == sorted(p.name for p in corpus.iterdir()) and not report.unchanged
    assert index.ingest().chunks_written == 0, "the same settings again change nothing"


def test_index_version_and_completeness():
    meta = {"content_hash": "ab12", "chunk_tokens": 160, "chunk_overlap": 32, "embedder": "minilm", "chunker": "s-2",
            "file_hash": "f00d", "reader": "r-1"}
    version = index_version(meta)
    assert version == ("ab12", 160, 32, "minilm", "s-2", "f00d", "r-1")
    assert index_version({"content_hash": "ab12"}) == ("ab12",) + (None,) * 6  # written before versions were kept
    entry = {"versions": {version: 3}, "expected": {version: 3}}
    assert is_complete(entry, version) and is_complete(entry)
    assert not is_complete(entry, ("ab12", 160, 0, "minilm", "s-2", "f00d", "r-1"))  # other chunk settings: re-chunk
    assert not is_complete(entry, ("ab12", 160, 32, "other-embedder", "s-2", "f00d", "r-1"))  # another embedder: re-embed
    assert not is_complete(entry, ("ab12", 160, 32, "minilm", "s-3", "f00d", "r-1"))  # a new sentence rule: re-chunk
    assert not is_complete(entry, ("ab12", 160, 32, "minilm", "s-2", "f00d", "r-2"))  # a new reader: read again
    assert not is_complete({"versions": {version: 2}, "expected": {version: 3}}, version)  # half-written


def test_every_chunk_is_read_a_page_at_a_time(index, corpus, monkeypatch):
    """Past ~32,000 chunks one get() of everything fails inside Chroma, so reads are paged; pages of 5 here."""
    index.ingest()
    everything = index.collection.get(include=["documents"])
    monkeypatch.setattr("rag.index.READ_PAGE", 5)
    ids, texts, metas = index.all_chunks()
    assert len(everything["ids"]) > 10 and sorted(ids) == sorted(everything["ids"]) and len(set(ids)) == len(ids)
    assert dict(zip(ids, texts)) == dict(zip(everything["ids"], everything["documents"]))
    assert [m["doc_id"] for m in metas] and sum(d.chunks for d in index.documents()) == len(ids)
    assert index.ingest().chunks_written == 0  # the paged manifest still sees every document as unchanged


def test_bad_file_is_reported_and_the_rest_indexed(index, corpus):
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (corpus / "empty.md").write_text("")
    report = index.ingest()
    assert sorted(Path(path).name for path, _ in report.failed) == ["binary.txt", "empty.md"]
    assert len(report.added) == 1 and index.count() > 0


def test_half_written_document_is_repaired(index, corpus):
    index.ingest()
    doc = index.documents()[0]
    ids = chunk_ids(index)
    index.collection.delete(ids=ids[: len(ids) // 2])  # as if an ingest died half-way
    assert not index.documents()[0].complete
    report = index.ingest()
    assert report.updated == [doc.source]
    assert sorted(chunk_ids(index)) == sorted(ids) and index.documents()[0].complete


def test_kill_9_during_ingest_leaves_an_index_the_next_ingest_repairs(corpus, isolated_env, index):
    for i in range(120):
        (corpus / f"doc{i:03d}.txt").write_text(f"Document {i}. " + f"Fact number {i} is about topic {i % 7}. " * 40)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = ("import sys; sys.path.insert(0, %r)\n"
              "from rag.index import Index\nfrom rag.settings import Settings\n"
              "Index(Settings.load()).ingest(progress=lambda f, m: print(m, flush=True))\n") % str(ROOT)
    child = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    seen = 0
    for line in child.stdout:
        seen += "Indexing" in line
        if seen >= 40:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    report = Index(Settings.load(), index.embedder).ingest()
    fresh = Index(Settings.load(), index.embedder)
    docs = fresh.documents()
    assert len(docs) == 121 and all(d.complete for d in docs)
    ids = chunk_ids(fresh)
    assert len(ids) == len(set(ids)) == sum(d.chunks for d in docs)
    assert len(report.unchanged) >= 20, "work done before the kill was kept"


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("chroma run did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def test_chroma_server_mode_uses_the_same_code(chroma_server, corpus, embedder):
    settings = Settings.load(chroma_host="127.0.0.1", chroma_port=chroma_server)
    index = Index(settings, embedder)
    assert index.ingest().chunks_written > 5
    assert index.ingest().chunks_written == 0
    assert not settings.index_dir.exists(), "server mode must not write an embedded index"
    results = Retriever(index).search("Why did OpenAI release gpt-oss?", 4, 20, "hybrid")
    assert any("DeepSeek" in p.text for p in results)
    (corpus / "new.txt").write_text("Quokkas were seen on Rottnest Island.")
    assert index.ingest().added == ["new.txt"]
    assert Index(settings, embedder).count() == index.count()


def test_unchanged_files_are_known_by_their_bytes_before_they_are_read(index, corpus, monkeypatch):
    index.ingest()
    read, real = [], index.reader.read
    monkeypatch.setattr(index.reader, "read", lambda path, *args: read.append(Path(path).name) or real(path, *args))
    article = next(corpus.glob("*.md"))
    os.utime(article, (time.time() + 60, time.time() + 60))  # touched: a new time, the same bytes
    again = index.ingest()
    assert (again.unchanged, again.chunks_written, read) == ([article.name], 0, [])
    article.write_text(article.read_text() + "\nA closing line.\n")
    assert index.ingest().updated == [article.name] and read == [article.name]
    assert index.ingest().unchanged == [article.name] and read == [article.name]


def test_a_document_over_the_chunk_limit_is_refused_before_anything_is_written(corpus, embedder):
    index = Index(Settings.load(max_document_chunks=3), embedder)
    report = index.ingest()
    assert report.added == [] and index.count() == 0
    (path, reason), = report.failed
    assert reason.startswith(f"{Path(path).name}: it makes ") and "over the 3-chunk limit (RAG_MAX_DOCUMENT_CHUNKS)" in reason


def test_a_long_ingest_lets_a_waiting_question_in_after_at_most_one_batch(index, corpus):
    """The Assistant shares the model's lock as the ingest's turn; whoever waits for it gets it at the next batch."""
    import threading

    from rag.generation import FairLock
    from rag.index import WRITE_BATCH

    for article in corpus.iterdir():
        article.unlink()  # only the long document: the first chunks seen are its first batch
    (corpus / "long.txt").write_text("\n\n".join(f"Paragraph {i} of the long report on Rottnest Island quokkas, "
                                                  "their burrows, ferries and visitors. " * 6 for i in range(300)))
    index.turn = FairLock()
    ingest = threading.Thread(target=index.ingest)
    ingest.start()
    deadline = time.monotonic() + 300
    while index.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    seen = index.count()
    with index.turn:  # as a question would take the model
        got_in = index.count()
        time.sleep(1.5)
        held = index.count()
    ingest.join(timeout=600)
    total = index.count()
    assert 0 < seen <= got_in <= seen + WRITE_BATCH, "the question waited for more than one batch"
    assert held == got_in < total, "the ingest went on writing while the question held the model"
    assert total > 3 * WRITE_BATCH and all(d.complete for d in index.documents())


def test_the_fair_lock_goes_to_the_longest_waiter_not_back_to_who_released_it():
    import threading

    from rag.generation import FairLock

    lock, order = FairLock(), []
    lock.acquire()

    def take(name):
        with lock:
            order.append(name)

    for number, name in enumerate("ab", 1):
        threading.Thread(target=take, args=(name,), daemon=True).start()
        while len(lock._waiters) < number:
            time.sleep(0.001)
    lock.release()
    assert not lock.acquire(blocking=False), "handed to 'a' on release, even before 'a' runs"
    assert lock.acquire(timeout=5)
    assert order == ["a", "b"]
    assert not FairLock().locked() and lock.locked()
    released = threading.Event()
    threading.Thread(target=lambda: (lock.acquire(timeout=0.05) and lock.release(), released.set()), daemon=True).start()
    assert released.wait(5) and not lock._waiters, "a waiter that timed out leaves the queue"
    lock.release()
    assert not lock.locked()

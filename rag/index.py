"""Index: chunks and their embeddings in Chroma, kept in step with the corpus.

The index is its own manifest: every chunk carries its document's id, content hash, chunk count
and what it was made with (the file's bytes hash, reader, chunk size, overlap, embedder), so an ingest
can tell unchanged files (skipped by their bytes, before they are read), changed ones or ones made
with other settings (re-chunk), deleted ones (remove) and half-written ones left by a crash (repair)
without any side file. Files are read by a worker process within limits (sandbox.py); chunks are
written a batch at a time, each batch taking its turn on ``turn`` (the model's lock in the app), so
a question waits for at most one batch of a long upload.
"""
from __future__ import annotations

import contextlib
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from .chunks import CHUNKER, chunk_document
from .documents import READER_VERSION, Document, doc_id_for, find_documents, source_name
from .embeddings import collection_for, make_embedder
from .errors import DocumentError, IndexCorruptError, RagError
from .manifest import chunk_metadata, hash_file, index_version, is_complete
from .sandbox import Reader, check_size
from .settings import Settings
from .text import language
from .store import disk_hint, make_client

ProgressFn = Callable[[float, str], None]
READ_PAGE = 5000  # chunks per collection.get(): Chroma fails on one get() of more than ~32,000
STAMP = "rag_stamp"  # collection metadata key: a fresh random value after every write, seen by every process
WRITE_BATCH = 64  # chunks embedded and written per turn (about 3 s on 2 cores): the longest a question waits


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """``'2 added, 0 updated, 5 unchanged, 1 removed, 0 failed, 14 chunks written in 3.1 s'``."""
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.removed)} removed, {len(self.failed)} failed, "
                f"{self.chunks_written} chunks written in {self.seconds:.1f} s")


@dataclass(frozen=True)
class DocInfo:
    doc_id: str
    title: str
    source: str
    chunks: int
    indexed_at: str
    complete: bool
    date: str = ""  # the article's publication date (ISO), '' when unknown


class Index:
    """The chunk store: ingest, list, delete, and read back for retrieval."""

    def __init__(self, settings: Settings, embedder=None):
        self.settings = settings
        self.client = make_client(settings)
        key = self.embedder_key()  # a given embedder (the app's, shared) serves when it is the one this collection uses
        self.embedder = embedder if embedder is not None and getattr(embedder, "key", key) == key else \
            make_embedder(key, settings.models_dir)
        self.collection_name = collection_for(settings.collection, getattr(self.embedder, "key", "minilm"))  # one per embedder
        self.generation = 0  # bumped on every write in this process; STAMP tells the other processes
        self.collection = self.open_collection()
        self.reader = Reader(settings)
        self.turn = contextlib.nullcontext()  # held per written batch; the Assistant shares the model's lock

    def embedder_key(self) -> str:
        """The embedder setting, with ``auto`` resolved: the multilingual e5-small once this collection went multilingual
        (its e5 collection exists in the store: every process sees it), else MiniLM."""
        if self.settings.embedder != "auto":
            return self.settings.embedder
        multilingual = collection_for(self.settings.collection, "e5-small")
        return "e5-small" if multilingual in {getattr(c, "name", c) for c in self.guard(self.client.list_collections)} else "minilm"

    def goes_multilingual(self, doc: Document) -> bool:
        """Under embedder ``auto``, whether this document (not in English) makes the collection multilingual: MiniLM reads
        English only, so the collection is then embedded anew by e5-small (docs/languages.md)."""
        return (self.settings.embedder == "auto" and getattr(self.embedder, "key", "") == "minilm"
                and language(doc.text[:4000]) != "en")

    def open_collection(self):
        """Get or create the chunk collection (cosine space), checking that it can be read."""
        try:
            collection = self.client.get_or_create_collection(
                self.collection_name, embedding_function=self.embedder, configuration={"hnsw": {"space": "cosine"}})
            collection.count()
            return collection
        except Exception as exc:
            raise IndexCorruptError(f"The index collection '{self.collection_name}' cannot be read "
                                    f"({type(exc).__name__}). Rebuild it from the corpus with: "
                                    "python -m rag ingest --rebuild") from None

    def reopen(self) -> None:
        """Drop Chroma's cached client for this path and open the store again from disk."""
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        self.client = make_client(self.settings)
        self.collection = self.open_collection()
        self.generation += 1

    def reset(self) -> None:
        """Empty the index (the corpus files are untouched); the next ingest fills it again."""
        self.write_guarded(self.client.delete_collection, name=self.collection_name)
        self.collection = self.open_collection()
        self.mark_changed()

    def count(self) -> int:
        """Number of chunks stored."""
        return self.guard(self.collection.count)

    def guard(self, call, *args, **kwargs):
        """Run a Chroma call, turning its failures into an IndexCorruptError with the way back."""
        try:
            return call(*args, **kwargs)
        except RagError:
            raise
        except Exception as exc:
            raise IndexCorruptError(f"The index failed ({type(exc).__name__}: {str(exc)[:200]}). "
                                    "If this persists, rebuild it with: python -m rag ingest --rebuild") from None

    @property
    def embedder_name(self) -> str:
        """The embedding function's name, recorded with every chunk so a new embedder re-embeds."""
        name = getattr(self.embedder, "name", None)
        return str(name() if callable(name) else name or type(self.embedder).__name__)

    def version_of(self, content_hash: str, file_hash: str) -> tuple:
        """The version a document's chunks have when written now: see index_version."""
        return (content_hash, self.settings.chunk_tokens, self.settings.chunk_overlap, self.embedder_name, CHUNKER,
                file_hash, READER_VERSION)

    def unchanged(self, entry: Optional[dict], file_hash: str) -> bool:
        """True when a stored document is whole and was made from these bytes with today's settings and reader."""
        if not entry or not is_complete(entry):
            return False
        (stored,) = entry["versions"]
        return stored[1:] == self.version_of(stored[0], file_hash)[1:]

    def stored_state(self) -> dict[str, dict]:
        """Per doc_id: title, source, versions seen, chunk count expected and found, indexed time."""
        metas = self.read_all(["metadatas"])["metadatas"]
        state: dict[str, dict] = defaultdict(lambda: {"versions": defaultdict(int), "expected": {}})
        for meta in metas:
            entry = state[meta["doc_id"]]
            version = index_version(meta)
            entry["versions"][version] += 1
            entry["expected"][version] = meta["n_chunks"]
            entry.update(title=meta["title"], source=meta["source"], indexed_at=meta.get("indexed_at", ""),
                         date=meta.get("date", ""))
        return dict(state)

    def documents(self) -> list[DocInfo]:
        """Documents in the index, by title."""
        infos = []
        for doc_id, entry in self.stored_state().items():
            infos.append(DocInfo(doc_id, entry["title"], entry["source"], sum(entry["versions"].values()),
                                 entry["indexed_at"], is_complete(entry), entry["date"]))
        return sorted(infos, key=lambda info: info.title.lower())

    def ingest(self, paths: Optional[list[Path]] = None, progress: Optional[ProgressFn] = None) -> IngestReport:
        """Bring the index in step with the given files/folders (default: the corpus folder).

        Unchanged documents are skipped, changed ones replaced, half-written ones repaired, and
        documents whose file no longer exists are removed. A bad file is reported, not fatal.
        """
        started = time.perf_counter()
        if not self.settings.chroma_host and not (self.settings.index_dir / "chroma.sqlite3").exists():
            self.reopen()  # the folder was deleted under us: start a fresh store and refill it
        report = IngestReport()
        progress = progress or (lambda fraction, message: None)
        roots = [Path(p) for p in (paths or [self.settings.corpus])]
        missing = [str(p) for p in roots if not p.exists()]
        if missing:
            raise DocumentError(f"Not found: {', '.join(missing)}.")
        files = find_documents(roots)
        state = self.stored_state()
        for number, path in enumerate(files, 1):
            progress((number - 1) / max(len(files), 1), f"Indexing {path.name} ({number}/{len(files)})")
            try:
                check_size(path, self.settings.max_document_mb)
                file_hash = hash_file(path)
                entry = state.get(doc_id_for(source_name(path, self.settings.corpus)))
                if self.unchanged(entry, file_hash):  # known by its bytes: not read again
                    report.unchanged.append(entry["source"])
                    continue
                doc = self.reader.read(path, self.settings.corpus)
                if self.goes_multilingual(doc):  # every article, this one too, into the multilingual collection
                    return self.go_multilingual(progress)
                step = (lambda done, total, n=number, name=path.name: progress(
                    (n - 1 + done / total) / len(files), f"Indexing {name} ({n}/{len(files)}): {done:,} of {total:,} chunks"))
                written = self.write_document(doc, file_hash, step)
            except DocumentError as exc:
                report.failed.append((str(path), str(exc)))
                continue
            report.chunks_written += written
            (report.updated if entry else report.added).append(doc.source)
        report.removed = self.remove_vanished(state)
        report.seconds = time.perf_counter() - started
        progress(1.0, report.summary())
        return report

    def go_multilingual(self, progress: ProgressFn) -> IngestReport:
        """Embed the whole corpus anew with e5-small, then switch to it. It is written under a staging name and renamed
        only when complete, so a question asked meanwhile (here or in another process) is answered from the English
        collection, never from a half-filled one; a staging collection left by a crash is started again."""
        staging = Index(self.settings.model_copy(update={"embedder": "e5-small",
                                                         "collection": f"{self.settings.collection}-building"}))
        staging.turn = self.turn
        staging.reset()
        report = staging.ingest([self.settings.corpus], progress)
        final = collection_for(self.settings.collection, "e5-small")
        self.write_guarded(staging.collection.modify, name=final)
        self.embedder, self.collection_name = staging.embedder, final
        self.collection = self.open_collection()
        self.mark_changed()
        return report

    def write_document(self, doc: Document, file_hash: str = "", step: Optional[Callable[[int, int], None]] = None) -> int:
        """Upsert the document's chunks a batch at a time, then drop every other chunk of it: other versions and orphans.

        Chunk ids are ``<doc_id>:<hash8>:<index>``, so with other chunk settings the same content reuses
        ids 0..n-1 (overwritten here) and may have left higher ones, which are deleted. ``step(written, total)``
        is told after each batch.

        Raises:
            DocumentError: the document makes more chunks than max_document_chunks (nothing is written).
        """
        chunks = chunk_document(doc.doc_id, doc.content_hash, doc.text,
                                self.settings.chunk_tokens, self.settings.chunk_overlap)
        limit = self.settings.max_document_chunks
        if len(chunks) > limit:
            raise DocumentError(f"{Path(doc.source).name}: it makes {len(chunks):,} chunks, over the {limit:,}-chunk "
                                "limit (RAG_MAX_DOCUMENT_CHUNKS); split it into smaller files or raise the limit.")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        made_with = self.version_of(doc.content_hash, file_hash)[1:]
        for first in range(0, len(chunks), WRITE_BATCH):
            part = chunks[first:first + WRITE_BATCH]
            with self.turn:  # a waiting question goes first between two batches
                self.write_guarded(self.collection.upsert, ids=[c.chunk_id for c in part],
                                   documents=[c.text for c in part],
                                   metadatas=[chunk_metadata(doc, c, len(chunks), now, made_with) for c in part])
            if step:
                step(first + len(part), len(chunks))
        self.write_guarded(self.collection.delete, where={"$and": [
            {"doc_id": doc.doc_id},
            {"$or": [{"content_hash": {"$ne": doc.content_hash}}, {"index": {"$gte": len(chunks)}}]}]})
        self.mark_changed()
        return len(chunks)

    def write_guarded(self, call, **kwargs) -> None:
        """A write to Chroma; a full disk or a broken store becomes a clear RagError."""
        try:
            call(**kwargs)
        except RagError:
            raise
        except Exception as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {str(exc)[:200]}"
            raise RagError(f"Could not write to the index ({detail}). {disk_hint(self.settings.home)}"
                           "Documents already indexed are kept; run the ingest again to finish.") from None

    def remove_vanished(self, state: dict[str, dict]) -> list[str]:
        """Remove documents whose source file no longer exists."""
        removed = []
        for doc_id, entry in state.items():
            if not self.source_path(entry["source"]).exists():
                self.delete(doc_id)
                removed.append(entry["source"])
        return removed

    def source_path(self, source: str) -> Path:
        """The file a stored source name points at (relative names live in the corpus folder)."""
        path = Path(source)
        return path if path.is_absolute() else self.settings.corpus / path

    def delete(self, doc_id: str) -> None:
        """Remove every chunk of a document."""
        self.write_guarded(self.collection.delete, where={"doc_id": doc_id})
        self.mark_changed()

    def mark_changed(self) -> None:
        """Record a write: a new generation here, and a new stamp in the collection for the other processes."""
        self.generation += 1
        self.write_guarded(self.collection.modify, metadata={STAMP: uuid.uuid4().hex})

    def change_key(self) -> tuple:
        """(generation, stamp): changes on any write, here or in another process; checked per question, so it does
        not count the chunks (Chroma counts them one by one: 10 ms at 100,000 against 1 ms for the stamp)."""
        return self.generation, (self.guard(self.client.get_collection, self.collection_name).metadata or {}).get(STAMP)

    def all_chunks(self) -> tuple[list[str], list[str], list[dict]]:
        """Every stored chunk as (ids, texts, metadatas), for lexical retrieval."""
        got = self.read_all(["documents", "metadatas"])
        return got["ids"], got["documents"], got["metadatas"]

    def read_all(self, include: list[str]) -> dict[str, list]:
        """Every stored chunk's ids and the included fields, read a page at a time.

        One ``collection.get()`` of everything fails past about 32,000 chunks ("too many SQL variables"
        inside Chroma), so a large corpus is read in pages of READ_PAGE."""
        got: dict[str, list] = {"ids": [], **{field: [] for field in include}}
        while True:
            page = self.guard(self.collection.get, include=include, limit=READ_PAGE, offset=len(got["ids"]))
            for key in got:
                got[key] += page[key] or []
            if len(page["ids"]) < READ_PAGE:
                return got

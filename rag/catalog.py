"""Collections: a name, its own corpus folder and its own index, kept apart from every other collection.

The default collection is the one the settings name (``RAG_CORPUS`` and ``RAG_COLLECTION``, 'articles'), exactly
as before, so an existing index needs no re-indexing. Every other collection lives in its own folder under
``RAG_HOME/collections/<id>/`` (``RAG_COLLECTIONS_DIR``): ``collection.json`` (its name) and ``corpus/`` (its
articles); its index is the
Chroma collection ``col-<id>`` (plus the embedder's suffix, embeddings.collection_for). The id is fixed when the
collection is made, so a rename rewrites one small file, atomically.

Every change is one atomic step on disk: a collection appears when its finished folder is renamed into place,
and disappears when its folder is renamed into ``collections/.deleted/`` (its articles are kept there, never
removed). Its index is dropped after that; an index left behind by a delete that was killed in between is
dropped by ``sweep`` at the next start (of an embedded index: a Chroma server may hold other processes' too). Names are compared without case: 'Tour' and 'tour' are one name.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import RagError
from .settings import Settings

log = logging.getLogger("rag.catalog")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,59}")
PREFIX = "col-"  # Chroma names of the collections made here; the default's name never starts with it
RECORD = "collection.json"


class CollectionError(RagError):
    """A collection name that is malformed, taken or unknown, or a change the default collection cannot take."""


@dataclass(frozen=True)
class Collection:
    name: str  # what the reader sees and types
    corpus: Path  # its articles
    index: str  # its Chroma collection (before the embedder's suffix)
    default: bool = False

    def settings(self, base: Settings) -> Settings:
        """base, pointed at this collection's corpus and index."""
        return base.model_copy(update={"corpus": self.corpus, "collection": self.index})


def check_name(name: str) -> str:
    """The name, trimmed, if it is one a collection may take.

    ``check_name(' Tour de France ') -> 'Tour de France'``; ``check_name('../x')`` raises CollectionError.
    """
    name = " ".join((name or "").split())
    if not NAME.fullmatch(name):
        raise CollectionError(f"'{name[:80]}' cannot name a collection: use 1 to 60 letters, digits, spaces, '-', '_' "
                              "or '.', starting with a letter or digit.")
    return name


def slug(name: str) -> str:
    """The folder id a new collection's name gives: ``slug('Tour de France 2019') -> 'tour_de_france_2019'``.

    Never a '-': in an index name that comes only before the embedder's suffix (``col-tour_de_france-e5-small``).
    """
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40].strip("_") or "collection"


def root(settings: Settings) -> Path:
    """Where the collections besides the default one live: ``RAG_COLLECTIONS_DIR``, or ``<home>/collections``."""
    return Path(settings.collections_dir or settings.home / "collections")


def default_collection(settings: Settings) -> Collection:
    return Collection(settings.collection, Path(settings.corpus), settings.collection, default=True)


def read_record(folder: Path) -> Optional[Collection]:
    """The collection kept in folder, or None (with a warning in the log) when its record is unreadable."""
    try:
        name = check_name(json.loads((folder / RECORD).read_text(encoding="utf-8"))["name"])
    except (OSError, ValueError, KeyError, TypeError, RagError) as exc:
        log.warning("Skipping the collection folder %s: its %s cannot be read (%s).", folder, RECORD, exc)
        return None
    return Collection(name, folder / "corpus", PREFIX + folder.name)


def list_collections(settings: Settings) -> list[Collection]:
    """The default collection first, then the others by name."""
    folders = sorted(p for p in root(settings).glob("*") if p.is_dir() and not p.name.startswith("."))
    found = [c for c in (read_record(p) for p in folders if (p / RECORD).exists()) if c]
    return [default_collection(settings), *sorted(found, key=lambda c: c.name.casefold())]


def find(settings: Settings, name: Optional[str]) -> Collection:
    """The collection of that name (any case); no name is the default one."""
    if not name:
        return default_collection(settings)
    known = list_collections(settings)
    for collection in known:
        if collection.name.casefold() == " ".join(name.split()).casefold():
            return collection
    raise CollectionError(f"There is no collection named '{name[:80]}'. The collections are: "
                          f"{', '.join(c.name for c in known)}.")


def find_or_create(settings: Settings, name: Optional[str], make: bool = False) -> tuple[Collection, bool]:
    """(the collection of that name, whether it was made now); with make, a name no collection has makes one."""
    try:
        return find(settings, name), False
    except CollectionError:
        if not make:
            raise
        return create(settings, name), True


def write_record(folder: Path, name: str) -> None:
    """collection.json with the name, replaced in one step (a crash leaves the old file or the new one)."""
    part = folder / (RECORD + ".part")
    part.write_text(json.dumps({"name": name, "version": 1}), encoding="utf-8")
    os.replace(part, folder / RECORD)


def create(settings: Settings, name: str) -> Collection:
    """A new, empty collection: its folder is built aside and renamed into place in one step."""
    name = check_name(name)
    taken(settings, name)
    base = root(settings)
    base.mkdir(parents=True, exist_ok=True)
    ident, n = slug(name), 2
    while (base / ident).exists():
        ident, n = f"{slug(name)}_{n}", n + 1
    building = base / f".new-{ident}-{os.getpid()}"
    (building / "corpus").mkdir(parents=True)
    write_record(building, name)
    os.rename(building, base / ident)
    return Collection(name, base / ident / "corpus", PREFIX + ident)


def taken(settings: Settings, name: str) -> None:
    if any(c.name.casefold() == name.casefold() for c in list_collections(settings)):
        raise CollectionError(f"A collection named '{name}' already exists; choose another name.")


def rename(settings: Settings, name: str, new: str) -> Collection:
    """The collection under its new name; its folder, articles and index stay where they are."""
    collection, new = find(settings, name), check_name(new)
    if collection.default:
        raise CollectionError(f"The default collection '{collection.name}' keeps its name (RAG_COLLECTION sets it).")
    if new.casefold() != collection.name.casefold():
        taken(settings, new)
    write_record(collection.corpus.parent, new)
    return Collection(new, collection.corpus, collection.index)


def delete(settings: Settings, name: str, client) -> Path:
    """Remove a collection: its folder moves to .deleted/ beside it (returned), then its index is dropped.

    client is the Chroma client its index is in. The default collection cannot be deleted.
    """
    collection = find(settings, name)
    if collection.default:
        raise CollectionError(f"The default collection '{collection.name}' cannot be deleted; delete its documents "
                              "instead.")
    kept = root(settings) / ".deleted" / f"{collection.corpus.parent.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    os.rename(collection.corpus.parent, kept)  # the one step that deletes it: gone from every list at once
    drop_indexes(client, [collection.index])
    return kept


def index_names(client) -> list[str]:
    return [getattr(c, "name", c) for c in client.list_collections()]


def drop_indexes(client, bases: list[str]) -> None:
    """Drop each base's Chroma collections, one per embedder (``col-a``, ``col-a-e5-small``, …), and no other."""
    for name in index_names(client):
        if name.startswith(PREFIX) and owner(name) in bases:
            client.delete_collection(name)


def sweep(settings: Settings, client) -> list[str]:
    """Drop the indexes of collections that no longer exist (a delete killed after its first step); their names."""
    kept = {c.index for c in list_collections(settings)}
    orphans = sorted({owner(name) for name in index_names(client) if name.startswith(PREFIX)} - kept)
    drop_indexes(client, orphans)
    return orphans


def owner(index_name: str) -> str:
    """The collection an index belongs to: ``owner('col-tour_de-e5-small') -> 'col-tour_de'``; ``owner('col-tour') -> 'col-tour'``."""
    return PREFIX + index_name[len(PREFIX):].split("-", 1)[0]

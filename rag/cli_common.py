"""What the command line's commands share: the setting flags, the status line, the progress bar.

A face of the pipeline like rag/cli.py, which registers the commands; ``rag eval`` and ``rag bench`` live in
their own rooms (rag/evaluation/command.py, rag/bench/command.py) and take these from here.
"""
from __future__ import annotations

import argparse
import sys

from .settings import Settings

COMMON_FLAGS = ("home", "corpus", "model", "n_ctx", "n_threads", "n_gpu_layers", "top_k", "temperature",
                "max_tokens", "retrieval", "embedder", "context_tokens", "chroma_host", "chroma_port",
                "collections_dir")


def add_setting_flags(parser: argparse.ArgumentParser, names=COMMON_FLAGS) -> None:
    """One ``--flag`` per setting, typed and documented from the Settings model."""
    for name in names:
        info = Settings.model_fields[name]
        kind = {int: int, float: float}.get(info.annotation, str)
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None,
                            help=f"{info.description} (env RAG_{name.upper()})")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.load(**{name: getattr(args, name, None) for name in COMMON_FLAGS})


def add_collection_flag(parser: argparse.ArgumentParser, creates: bool = False) -> None:
    parser.add_argument("--collection", metavar="NAME", help="The collection to use (default: the default one, named by "
                        "RAG_COLLECTION); `rag collections` lists them." + (" A new name makes a new collection." if creates else ""))


def in_collection(settings: Settings, name, create: bool = False) -> Settings:
    """settings pointed at the named collection's corpus and index (rag/catalog.py); with create, a new name makes one."""
    from . import catalog

    if not name:
        return settings
    found, made = catalog.find_or_create(settings, name, create)
    if made:
        status(f"Made the collection '{found.name}'; its articles folder is {found.corpus}")
    return found.settings(settings)


COMPARE_HELP = ("Run once per value; repeated flags form a grid (every combination is run: "
                "--compare top_k=2,4 --compare retrieval=dense,bm25 is 4 runs).")


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tqdm_progress(bar):
    """A ``progress(fraction, message)`` that moves a tqdm bar."""
    def update(fraction: float, message: str) -> None:
        bar.set_postfix_str(message[:60], refresh=False)
        bar.update(round(fraction * bar.total) - bar.n)
    return update

"""Command line: ``python -m rag ingest|ask|prepare-model|eval|bench``.

Setting flags (``--top-k``, ``--model``, …) are derived from the Settings fields, so every
setting is reachable the same way everywhere. RagError becomes one line on stderr and exit 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional

from .errors import RagError
from .settings import Settings

COMMON_FLAGS = ("home", "corpus", "model", "n_ctx", "n_threads", "n_gpu_layers", "top_k", "temperature",
                "max_tokens", "retrieval", "context_tokens", "chroma_host", "chroma_port", "collection")


def add_setting_flags(parser: argparse.ArgumentParser, names=COMMON_FLAGS) -> None:
    """One ``--flag`` per setting, typed and documented from the Settings model."""
    for name in names:
        info = Settings.model_fields[name]
        kind = {int: int, float: float}.get(info.annotation, str)
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None,
                            help=f"{info.description} (env RAG_{name.upper()})")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.load(**{name: getattr(args, name, None) for name in COMMON_FLAGS})


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_ingest(args) -> int:
    from .index import Index, remove_index

    settings = settings_from(args)
    if args.rebuild and not settings.chroma_host:
        remove_index(settings)  # before opening: a corrupt index cannot be opened to be emptied
    index = Index(settings)
    if args.rebuild and settings.chroma_host:
        index.reset()
    report = index.ingest([Path(p) for p in args.paths] or None,
                          progress=lambda fraction, message: status(f"[{fraction:4.0%}] {message}"))
    for source, reason in report.failed:
        status(f"skipped: {reason}")
    print(report.summary())
    return 0


def cmd_ask(args) -> int:
    from .pipeline import Answer, Assistant, check_question

    settings = settings_from(args)
    question = check_question(" ".join(args.question), settings.max_question_chars)  # before the slow loads
    assistant = Assistant(settings, progress=status)
    if assistant.index.count() == 0:
        status("The index is empty; indexing the corpus first…")
        status(assistant.ingest().summary())
    answer: Optional[Answer] = None
    for event in assistant.stream(question):
        if isinstance(event, Answer):
            answer = event
        elif not args.json:
            print(event, end="", flush=True)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    return 0


def print_answer(answer) -> None:
    """The checked answer (markers cleaned) and its numbered sources, for a terminal."""
    print("\n\n" + answer.answer)
    if answer.refused:
        return
    print("\nSources:")
    for c in answer.citations:
        flag = "" if c.supported else "  (not supported by this passage)"
        snippet = c.text if len(c.text) < 300 else c.text[:297] + "…"
        print(f"[{c.n}] {c.title} — {c.source} (chars {c.start}–{c.end}){flag}\n    {snippet}")
    t = answer.timings
    print(f"\n(retrieval {t.retrieve_ms:.0f} ms, first token {t.ttft_ms / 1000:.1f} s, total {t.total_ms / 1000:.1f} s, "
          f"{t.tokens_per_s:.1f} tokens/s, {t.prompt_tokens} prompt tokens)")


def cmd_prepare_model(args) -> int:
    from .models import resolve_model

    print(resolve_model(settings_from(args), status))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Ask questions about your articles, offline.")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="(Re)index the corpus folder or the given files and folders.")
    ingest.add_argument("paths", nargs="*", help="Files or folders (default: the corpus folder).")
    ingest.add_argument("--rebuild", action="store_true", help="Start from an empty index.")
    ingest.set_defaults(run=cmd_ingest)
    ask = sub.add_parser("ask", help="Answer a question with numbered, checked sources.")
    ask.add_argument("question", nargs="+", help="The question.")
    ask.add_argument("--json", action="store_true", help="Print the answer as JSON.")
    ask.set_defaults(run=cmd_ask)
    prepare = sub.add_parser("prepare-model", help="Join and verify the bundled default model; print its path.")
    prepare.set_defaults(run=cmd_prepare_model)
    for command in (ingest, ask, prepare):
        add_setting_flags(command)
    register_optional(sub)
    return parser


def register_optional(sub) -> None:
    """Sub-commands that live in their own modules (evaluation, benchmark)."""
    for module in ("evaluation", "bench"):
        try:
            register: Callable = getattr(__import__(f"rag.{module}", fromlist=["register_cli"]), "register_cli")
        except (ImportError, AttributeError):
            continue
        register(sub, add_setting_flags)


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except RagError as exc:
        status(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        status("interrupted")
        return 130

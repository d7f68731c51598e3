"""Command line: ``python -m rag ingest|ask|prepare-model|settings|eval|bench``.

A face of the pipeline, like the web app: it imports the pipeline, the evaluation and the benchmark
rooms, and nothing imports it but ``rag/__main__.py`` and the web app (for the setting flags).
Setting flags (``--top-k``, ``--model``, …) are derived from the Settings fields, so every setting is
reachable the same way everywhere. RagError becomes one line on stderr and exit 1.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional

from .bench.command import add_bench_parser
from .cli_common import COMMON_FLAGS, add_setting_flags, settings_from, status  # noqa: F401  (tests take them from here)
from .dates import spoken_date
from .errors import RagError
from .evaluation.command import add_eval_parser
from .settings import Settings, settings_rows, settings_table
from .text import inert, inert_piece, rewrite_markers



def cmd_ingest(args) -> int:
    from .index import Index, remove_index

    settings = settings_from(args)
    if args.rebuild and not settings.chroma_host:
        remove_index(settings)  # before opening: a corrupt index cannot be opened to be emptied
    index = Index(settings)
    if args.rebuild and settings.chroma_host:
        index.reset()
    links = [p for p in args.paths if "://" in p]
    if links or args.feed:
        from types import SimpleNamespace

        from .web.links import add_feed, add_links, link_lines
        target = SimpleNamespace(settings=settings, index=index, ingest=index.ingest)  # what an upload needs, no model
        result, already = add_feed(target, args.feed) if args.feed else (add_links(target, links), 0)
        print("\n".join(link_lines(result, already)))
        return 1 if result.failed else 0
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
    shown = ""
    try:
        for event in assistant.stream(question):
            if isinstance(event, Answer):
                answer = event
            elif not args.json:
                print(inert_piece(shown, event), end="", flush=True)  # a terminal makes URLs clickable too
                shown += event
    except RagError:
        if shown:  # a model server that dropped the stream: the words printed so far are not an answer
            print("\n(cut off: not an answer)", flush=True)
        raise
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    return 0


def print_answer(answer) -> None:
    """The checked answer (markers cleaned) and its numbered sources, for a terminal."""
    unsupported = {c.n for c in answer.citations if not c.supported}
    print("\n\n" + rewrite_markers(inert(answer.marked), lambda ns: " " + "".join(
        f"[{n}?]" if n in unsupported else f"[{n}]" for n in ns)))  # a "?" marks a citation its passage does not back
    if answer.refused:
        if answer.why:
            print(f"({inert(answer.why)})")
        return
    print("\nSources:")
    for c in answer.citations:
        flag = "" if c.supported else "  (not supported by this passage)"
        snippet = inert(c.text if len(c.text) < 300 else c.text[:297] + "…")
        dated = f", {spoken_date(c.date)}" if c.date else ""
        print(f"[{c.n}] {inert(c.title)} — {c.source}{dated} (chars {c.start}–{c.end}){flag}\n    {snippet}")
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
    ingest = sub.add_parser("ingest", help="(Re)index the corpus folder or the given files and folders, or add web pages.")
    ingest.add_argument("paths", nargs="*", help="Files or folders (default: the corpus folder), or http(s) links of "
                        "pages to fetch into the corpus.")
    ingest.add_argument("--feed", metavar="URL", help="Add the entries of this RSS/Atom feed not in the corpus yet.")
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
    shown = sub.add_parser("settings", help="Print every setting: value now, default, bounds, environment variable.")
    shown.add_argument("--json", action="store_true", help="Print them as JSON.")
    shown.add_argument("--markdown", action="store_true", help="Print the defaults as the README's Markdown table.")
    shown.set_defaults(run=cmd_settings)
    add_eval_parser(sub)
    add_bench_parser(sub)
    return parser


def cmd_settings(args) -> int:
    """``python -m rag settings``: one row per setting, as the environment sets it now."""
    if args.markdown:
        print(settings_table())
        return 0
    rows = settings_rows(Settings.load())
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for row in rows:
        print(f"{row['variable']:<24} {str(row['value']):<28} default {str(row['default']):<20} {row['bounds']}")
        print(f"{'':<24} {row['description']}")
    return 0


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

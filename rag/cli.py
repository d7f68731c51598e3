"""Command line: ``rag chat|ingest|ask|prepare-model|settings|collections|eval|bench`` (or ``python -m rag …``).

A face of the pipeline, like the web app: it imports the pipeline, the evaluation and the benchmark
rooms, and nothing imports it but ``rag/__main__.py`` and the web app (for the setting flags).
Setting flags (``--top-k``, ``--model``, …) are derived from the Settings fields, so every setting is
reachable the same way everywhere. RagError becomes one line on stderr and exit 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator, Optional

from .bench.command import add_bench_parser
from .cli_common import (COMMON_FLAGS, add_collection_flag, add_setting_flags, in_collection, settings_from,  # noqa: F401
                         status)  # (tests take COMMON_FLAGS and settings_from from here)
from .dates import spoken_date
from .errors import RagError
from .evaluation.command import add_eval_parser
from .settings import Settings, settings_rows, settings_table
from .text import LANGUAGES, inert, inert_piece, language, rewrite_markers
from .translation import LABEL, to_translate, translate



def cmd_ingest(args) -> int:
    from .errors import IndexCorruptError
    from .index import Index
    from .store import remove_index

    settings = in_collection(settings_from(args), args.collection, create=True)
    try:
        index = Index(settings)
    except IndexCorruptError:
        if not args.rebuild or settings.chroma_host:
            raise
        remove_index(settings)  # a corrupt index cannot be opened to be emptied: the whole folder goes
        status("The index folder could not be opened, so it was made anew: every collection is indexed again at its "
               "next ingest (`rag ingest --collection NAME`).")
        index = Index(settings)
    if args.rebuild:
        index.reset()  # this collection only; the others keep their index
    links = [p for p in args.paths if "://" in p]
    if links or args.feed:
        from types import SimpleNamespace

        from .web.uploads import combine

        from .web.links import LinkImport, add_feed, add_links, link_lines, owner_reach
        target = SimpleNamespace(settings=settings, index=index, ingest=index.ingest)  # what an upload needs, no model
        if args.feed:
            state = add_feed(target, args.feed, reach=owner_reach(settings, args.feed))
        else:  # each link with its own reach: loopback only for a link named on loopback
            state = LinkImport(total=len(links))
            for link in links:
                added = add_links(target, [link], reach=owner_reach(settings, link))
                state.result.saved += added.saved
                state.result.failed += added.failed
                state.result.reports += added.reports
            state.result.summary = combine(state.result.reports).summary() if state.result.reports else ""
        print("\n".join(link_lines(state)))
        return 1 if state.result.failed else 0
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
    in_collection(settings, args.collection)  # an unknown collection fails before the slow loads too
    assistant = Assistant(settings, progress=status).in_collection(args.collection)
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
        shown_json = answer.to_json()
        if args.translate:
            shown_json["translations"] = [{"n": n, **t.to_json(), "text": inert(t.text)}  # model output: inert
                                          for n, t in translate_cited(assistant, answer)]
        print(json.dumps(shown_json, ensure_ascii=False, indent=2))
        return 0
    print_answer(answer)
    if args.translate and answer.citations and not to_translate(answer.citations, answer.question):
        status("No cited passage is in another language than the question: nothing to translate.")
    if args.translate:
        for n, t in translate_cited(assistant, answer):
            print(f"\n[{n}] {LABEL} ({LANGUAGES[t.source_language]} → {LANGUAGES[t.language]}):\n    "
                  + inert(t.text).replace("\n", "\n    "), flush=True)
    return 0


def translate_cited(assistant, answer) -> Iterator:
    """(n, Translation) of each cited passage in another language than the question (translation.py), one at a
    time as the model writes it; one the model cannot translate is said on stderr and left out."""
    into, texts = language(answer.question), {c.n: c.text for c in answer.citations}
    for n in to_translate(answer.citations, answer.question):
        try:
            yield n, translate(assistant, texts[n], into)
        except RagError as exc:
            status(f"source [{n}] not translated: {exc}")


def print_answer(answer) -> None:
    """The checked answer (markers cleaned) and its numbered sources, for a terminal."""
    unsupported = {c.n for c in answer.citations if not c.supported}
    print("\n\n" + rewrite_markers(inert(answer.marked), lambda ns: " " + "".join(
        f"[{n}?]" if n in unsupported else f"[{n}]" for n in ns)))  # a "?" marks a citation its passage does not back
    if answer.refused:
        if answer.why:
            print(f"({inert(answer.why)})")
        return
    if answer.as_of_line:
        print(f"\n{answer.as_of_line}")
    print("\nSources:")
    for c in answer.citations:
        flag = "" if c.supported else "  (not supported by this passage)"
        snippet = inert(c.text if len(c.text) < 300 else c.text[:297] + "…")
        dated = f", {spoken_date(c.date)}" if c.date else ""
        print(f"[{c.n}] {inert(c.title)} — {inert(c.source)}{dated} (chars {c.start}–{c.end}){flag}\n    {snippet}")
    t = answer.timings
    if not t.completion_tokens:  # a timeline, or an answer with no model call
        print(f"\n(retrieval {t.retrieve_ms:.0f} ms, total {t.total_ms / 1000:.1f} s, no model call)")
        return
    print(f"\n(retrieval {t.retrieve_ms:.0f} ms, first token {t.ttft_ms / 1000:.1f} s, total {t.total_ms / 1000:.1f} s, "
          f"{t.tokens_per_s:.1f} tokens/s, {t.prompt_tokens} prompt tokens)")


def cmd_prepare_model(args) -> int:
    from .models import resolve_model

    print(resolve_model(settings_from(args), status))
    return 0


def cmd_chat(argv: list[str]) -> int:
    """``rag chat [--host H] [--port P] [setting flags]``: the browser chat, as ``python app.py`` starts it (its flags
    are the app's own, so they are parsed there)."""
    from .web.serve import main as serve

    return serve(argv, prog="rag chat")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Ask questions about your articles, offline.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("chat", add_help=False, help="Start the browser chat on http://127.0.0.1:7860 "
                   "(`rag chat --help` lists its flags).")  # main() hands its arguments to the app's own parser
    ingest = sub.add_parser("ingest", help="(Re)index the corpus folder or the given files and folders, or add web pages.")
    ingest.add_argument("paths", nargs="*", help="Files or folders (default: the corpus folder), or http(s) links of "
                        "pages to fetch into the corpus.")
    ingest.add_argument("--feed", metavar="URL", help="Add the entries of this RSS/Atom feed not in the corpus yet.")
    ingest.add_argument("--rebuild", action="store_true", help="Start from an empty index.")
    ingest.set_defaults(run=cmd_ingest)
    ask = sub.add_parser("ask", help="Answer a question with numbered, checked sources.")
    ask.add_argument("question", nargs="+", help="The question.")
    ask.add_argument("--json", action="store_true", help="Print the answer as JSON.")
    ask.add_argument("--translate", action="store_true", help="Also print the local model's translation of each cited "
                     "passage in another language than the question (marked as a machine translation).")
    ask.set_defaults(run=cmd_ask)
    prepare = sub.add_parser("prepare-model", help="Join and verify the bundled default model; print its path.")
    prepare.set_defaults(run=cmd_prepare_model)
    for command in (ingest, ask, prepare):
        add_setting_flags(command)
    add_collection_flag(ingest, creates=True)
    add_collection_flag(ask)
    add_collections_parser(sub)
    shown = sub.add_parser("settings", help="Print every setting: value now, default, bounds, environment variable.")
    shown.add_argument("--json", action="store_true", help="Print them as JSON.")
    shown.add_argument("--markdown", action="store_true", help="Print the defaults as the Markdown table of docs/settings.md.")
    shown.set_defaults(run=cmd_settings)
    add_eval_parser(sub)
    add_bench_parser(sub)
    return parser


def add_collections_parser(sub) -> None:
    parser = sub.add_parser("collections", help="List the collections; create, rename or delete one.")
    parser.add_argument("action", nargs="?", default="list", choices=["list", "create", "rename", "delete"])
    parser.add_argument("names", nargs="*", metavar="NAME", help="create NAME | rename NAME NEW | delete NAME")
    parser.add_argument("--yes", action="store_true", help="Confirm a delete (its index goes; its articles are kept "
                        "in <home>/deleted/).")
    add_setting_flags(parser, ["home", "corpus", "chroma_host", "chroma_port", "collections_dir"])
    parser.set_defaults(run=cmd_collections)


def cmd_collections(args) -> int:
    """``rag collections [create NAME | rename NAME NEW | delete NAME --yes]``; lists them after any change."""
    from . import catalog
    from .store import make_client

    settings = Settings.load(**{k: getattr(args, k) for k in ("home", "corpus", "chroma_host", "chroma_port", "collections_dir")})
    wanted = {"list": 0, "create": 1, "rename": 2, "delete": 1}[args.action]
    if len(args.names) != wanted:
        raise RagError(f"`rag collections {args.action}` takes {wanted} name(s); got {len(args.names)}.")
    if args.action == "create":
        status(f"Made '{catalog.create(settings, args.names[0]).name}'.")
    elif args.action == "rename":
        status(f"Renamed to '{catalog.rename(settings, *args.names).name}'.")
    elif args.action == "delete":
        if not args.yes:
            raise RagError(f"Deleting '{args.names[0]}' drops its index; add --yes to confirm.")
        status(f"Deleted '{args.names[0]}'; its articles are kept in {catalog.delete(settings, args.names[0], make_client(settings))}")
    for c in catalog.list_collections(settings):
        files = sum(1 for p in c.corpus.rglob("*") if p.is_file()) if c.corpus.is_dir() else 0
        print(f"{c.name}{'  (default)' if c.default else ''}\t{files} files\t{c.corpus}")
    return 0


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
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["chat"]:
        return cmd_chat(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except RagError as exc:
        status(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        status("interrupted")
        return 130
    except BrokenPipeError:  # `rag settings | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

"""Command line: ``python -m rag ingest|ask|prepare-model|settings|eval|bench``.

A face of the pipeline, like the web app: it imports the pipeline, the evaluation and the benchmark
rooms, and nothing imports it but ``rag/__main__.py`` and the web app (for the setting flags).
Setting flags (``--top-k``, ``--model``, …) are derived from the Settings fields, so every setting is
reachable the same way everywhere. RagError becomes one line on stderr and exit 1.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional

from .answerability import REASONS
from .errors import RagError
from .settings import Settings, expand_grid, parse_grid, settings_rows, settings_table
from .text import rewrite_markers

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


COMPARE_HELP = ("Run once per value; repeated flags form a grid (every combination is run: "
                "--compare top_k=2,4 --compare retrieval=dense,bm25 is 4 runs).")


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
    shown = False
    try:
        for event in assistant.stream(question):
            if isinstance(event, Answer):
                answer = event
            elif not args.json:
                print(event, end="", flush=True)
                shown = True
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
    print("\n\n" + rewrite_markers(answer.answer, lambda ns: " " + "".join(
        f"[{n}?]" if n in unsupported else f"[{n}]" for n in ns)))  # a "?" marks a citation its passage does not back
    if answer.refused:
        if REASONS.get(answer.refused_by):
            print(f"({REASONS[answer.refused_by]})")
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


def add_eval_parser(subparsers) -> None:
    """``rag eval``: score the assistant on a test set."""
    from .evaluation.run import PER_QUESTION
    from .evaluation.testset import DEFAULT_TESTSET

    parser = subparsers.add_parser("eval", help="Score the assistant on a test set: retrieval, answers, citations, "
                                   "refusals and latency.")
    parser.add_argument("--testset", type=Path, default=DEFAULT_TESTSET, help="JSON Lines test set (default: the bundled one).")
    parser.add_argument("--corpus", type=Path, help="Folder indexed for this test set (default: the corpus setting).")
    parser.add_argument("--data", "--home", dest="home", type=Path,
                        help="Data folder for the evaluation's own index (default: <home>/eval/<corpus name>).")
    parser.add_argument("--limit", type=positive_int, help="Only the first N questions.")
    parser.add_argument("--json", dest="json_out", type=Path, help="Also write the results JSON to this file.")
    parser.add_argument("--out", type=Path, help="Folder for report.md, results.json, chart.png (default: eval-out/<test set>).")
    parser.add_argument("--compare", action="append", default=[], metavar="SETTING=V1,V2",
                        help=COMPARE_HELP + f" Settings: {', '.join(PER_QUESTION)}.")
    parser.add_argument("--judge-model", type=Path, metavar="GGUF",
                        help="Also judge answers and citations with this model (judge_* metrics); any GGUF.")
    add_setting_flags(parser, [name for name in COMMON_FLAGS if name not in ("home", "corpus")])
    parser.set_defaults(run=cmd_eval)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of questions >= 1, got {text!r}")
    return int(text)


def cmd_eval(args) -> int:
    """``python -m rag eval``: index the corpus into the eval data folder, run, write and print the results."""
    from tqdm import tqdm

    from .evaluation.report import compare_markdown
    from .evaluation.run import PER_QUESTION, compare, eval_settings, run_evaluation
    from .evaluation.testset import load_testset
    from .pipeline import Assistant

    count = len(load_testset(args.testset, args.limit))  # a bad test set fails before the model loads
    grid = parse_grid(args.compare, PER_QUESTION)
    flags = {name: getattr(args, name, None) for name in COMMON_FLAGS if name not in ("home", "corpus")}
    settings = eval_settings(args.corpus, args.home, status, **flags)
    assistant = Assistant(settings, progress=status)
    with tqdm(total=100, desc="Indexing", unit="%", file=sys.stderr, leave=False) as bar:
        status(assistant.ingest(progress=tqdm_progress(bar)).summary() + f" (index in {settings.home})")
    judge = None
    if args.judge_model:
        from .evaluation.judge import Judge

        if not Path(args.judge_model).is_file():
            raise RagError(f"Judge model not found: {args.judge_model}. Pass an existing .gguf file.")
        judge = Judge(settings, args.judge_model, assistant.generator)
    out_dir = args.out or Path("eval-out") / Path(args.testset).stem
    with tqdm(total=count * len(expand_grid(grid)), desc="Evaluating", unit="q", file=sys.stderr) as bar:
        if grid:
            runs = compare(assistant, args.testset, grid, args.limit, tqdm_progress(bar), out_dir, judge).runs
        else:
            runs = [run_evaluation(assistant, args.testset, args.limit, tqdm_progress(bar), out_dir, judge=judge)]
    if args.json_out:
        data = runs[0].to_json() if not grid else [run.to_json() for run in runs]
        Path(args.json_out).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    print(compare_markdown(runs) if grid else runs[0].markdown.split("## How answers")[0].rstrip())
    status(f"Reports in {out_dir}")
    return 0


def tqdm_progress(bar):
    """A ``progress(fraction, message)`` that moves a tqdm bar."""
    def update(fraction: float, message: str) -> None:
        bar.set_postfix_str(message[:60], refresh=False)
        bar.update(round(fraction * bar.total) - bar.n)
    return update


def add_bench_parser(subparsers) -> None:
    """``rag bench``: measure speed on this machine."""
    from .bench.stages import RGB, SETTING_FLAGS, STAGES
    from .evaluation.testset import DEFAULT_TESTSET

    parser = subparsers.add_parser("bench", help="Measure first-token time, generation overhead, retrieval, ingest "
                                   "and start-up on this machine; print a table and write JSON.")
    parser.add_argument("--json", dest="json_out", type=Path, help="Write the results JSON to this file.")
    parser.add_argument("--quick", action="store_true", help="A smoke run of about 3 minutes (fewer questions and sizes).")
    parser.add_argument("--limit", type=int, help="Test-set questions to time (full 12, quick 3).")
    parser.add_argument("--pairs", type=int, help="Pipeline/bare generation pairs (full 3, quick 2).")
    parser.add_argument("--conversations", type=int, help="Two-turn conversations timed for follow-ups (full 8, quick 4).")
    parser.add_argument("--sizes", help="Retrieval sizes in chunks, comma-separated (full 1000,10000,100000).")
    parser.add_argument("--queries", type=int, help="Retrieval queries timed per size and mode.")
    parser.add_argument("--docs", type=int, help="Only the first N RGB documents for ingest (default: all).")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"Stages to run (default: {','.join(STAGES)}).")
    parser.add_argument("--testset", type=Path, default=DEFAULT_TESTSET, help="Test set whose questions are timed.")
    parser.add_argument("--corpus", type=Path, help="Corpus the test set is about (default: the corpus setting).")
    parser.add_argument("--rgb", type=Path, default=RGB, help="RGB slice for ingest and retrieval (corpus/, dev.jsonl).")
    parser.add_argument("--compare", action="append", metavar="SETTING=V1,V2",
                        help=COMPARE_HELP + " Only the generation stage runs once per combination, e.g. "
                        "context_mode=passages,sentences.")
    parser.add_argument("--remote", metavar="URL", help="Run the generation stage twice in this run, in-process and "
                        "through this OpenAI-compatible model server (RAG_LLM_MODEL and RAG_LLM_API_KEY apply to it).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data folders.")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--stage-params", help=argparse.SUPPRESS)
    parser.add_argument("--stage-out", help=argparse.SUPPRESS)
    add_setting_flags(parser, SETTING_FLAGS)
    parser.set_defaults(run=cmd_bench)


def cmd_bench(args) -> int:
    """``python -m rag bench``: run the stages, print the table, write the JSON."""
    from .bench.report import render_table
    from .bench.run import bench_combos, run_bench, with_remote
    from .bench.stages import FULL, QUICK, SETTING_FLAGS, STAGES, loadavg, peak_rss_mb
    from .models import resolve_model

    if args.stage:  # inside a stage's own process
        result = STAGES[args.stage](json.loads(args.stage_params))
        Path(args.stage_out).write_text(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}, default=str))
        return 0
    flags = {name: getattr(args, name) for name in SETTING_FLAGS if getattr(args, name) is not None}
    base = Settings.load(**flags)
    flags["model"] = str(base.model or resolve_model(base, status))
    preset = QUICK if args.quick else FULL
    options = {"quick": args.quick, "settings": flags, "corpus": str(args.corpus or base.corpus),
               "testset": str(args.testset), "rgb": str(args.rgb), "docs": args.docs, "keep": args.keep,
               "limit": args.limit or preset["limit"], "pairs": preset["pairs"] if args.pairs is None else args.pairs,
               "sizes": [int(s) for s in args.sizes.split(",")] if args.sizes else preset["sizes"],
               "queries": args.queries or preset["queries"], "conversations": args.conversations or preset["conversations"],
               "stages": [s for s in args.stages.split(",") if s in STAGES],
               "compare": with_remote(bench_combos(args.compare), args.remote)}
    started = time.perf_counter()
    result = run_bench(options, status)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(render_table(result))
    print(f"(bench took {result['seconds']:.0f} s; load average now {loadavg()})")
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return 0 if not any("error" in stage for stage in result["stages"].values()) else 1


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

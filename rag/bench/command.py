"""``rag bench``: measure speed on this machine, from the command line (rag/cli.py registers it)."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..cli_common import COMPARE_HELP, add_setting_flags, status
from ..settings import Settings


def add_bench_parser(subparsers) -> None:
    """``rag bench``: measure speed on this machine."""
    from .stages import RGB, SETTING_FLAGS, STAGES
    from ..evaluation.testset import DEFAULT_TESTSET

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
    from .report import render_table
    from .run import bench_combos, run_bench, with_remote
    from .stages import FULL, QUICK, SETTING_FLAGS, STAGES, loadavg, peak_rss_mb
    from ..models import resolve_model

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

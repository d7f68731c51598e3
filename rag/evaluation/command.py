"""``rag eval``: score the assistant on a test set, from the command line (rag/cli.py registers it)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli_common import COMMON_FLAGS, COMPARE_HELP, add_collection_flag, add_setting_flags, status, tqdm_progress
from ..errors import RagError
from ..settings import Settings, expand_grid, parse_grid


def add_eval_parser(subparsers) -> None:
    """``rag eval``: score the assistant on a test set."""
    from .run import PER_QUESTION
    from .testset import DEFAULT_TESTSET

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
    parser.add_argument("--near-misses", nargs="?", const="years", choices=("years", "names"),
                        help="Score refusals on near misses instead: each answerable question with its year or women's/men's "
                        "swapped for one the corpus does not pair with the rest (years, the default), or with an invented "
                        "name added beside a real one or swapped into it (names); written to the out folder.")
    parser.add_argument("--judge-model", type=Path, metavar="GGUF",
                        help="Also judge answers and citations with this model (judge_* metrics); any GGUF.")
    parser.add_argument("--retrieval-only", action="store_true", help="Score only what reaches the model (hit@k, MRR, "
                        "keyword coverage), on all questions and on two folds, without generating: seconds, not minutes.")
    add_setting_flags(parser, [name for name in COMMON_FLAGS if name not in ("home", "corpus")])
    add_collection_flag(parser)  # its articles are the corpus (indexed into the evaluation's own data folder)
    parser.set_defaults(run=cmd_eval)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of questions >= 1, got {text!r}")
    return int(text)


def cmd_eval(args) -> int:
    """``python -m rag eval``: index the corpus into the eval data folder, run, write and print the results."""
    from tqdm import tqdm

    from .report import compare_markdown
    from .run import PER_QUESTION, compare, eval_settings, run_evaluation
    from .testset import load_testset
    from ..pipeline import Assistant

    count = len(load_testset(args.testset, args.limit))  # a bad test set fails before the model loads
    if args.collection and not args.corpus:
        from ..catalog import find

        args.corpus = find(Settings.load(), args.collection).corpus
    grid = parse_grid(args.compare, PER_QUESTION)
    flags = {name: getattr(args, name, None) for name in COMMON_FLAGS if name not in ("home", "corpus")}
    settings = eval_settings(args.corpus, args.home, status, **flags)
    suffix = {None: "", "years": "-near-misses", "names": "-near-misses-names"}[args.near_misses]
    out_dir = args.out or Path("eval-out") / (Path(args.testset).stem + suffix)
    if args.near_misses:
        from .nearmiss import near_miss_testset

        args.testset, args.limit = near_miss_testset(args.testset, settings.corpus, Path(out_dir), args.limit, status,
                                                     args.near_misses), None
        count = len(load_testset(args.testset))
    if args.retrieval_only:
        return eval_retrieval(settings, args, grid)
    assistant = Assistant(settings, progress=status)
    with tqdm(total=100, desc="Indexing", unit="%", file=sys.stderr, leave=False) as bar:
        status(assistant.ingest(progress=tqdm_progress(bar)).summary() + f" (index in {settings.home})")
    judge = None
    if args.judge_model:
        from .judge import Judge

        if not Path(args.judge_model).is_file():
            raise RagError(f"Judge model not found: {args.judge_model}. Pass an existing .gguf file.")
        judge = Judge(settings, args.judge_model, assistant.generator)
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


def eval_retrieval(settings: Settings, args, grid: dict) -> int:
    """``rag eval --retrieval-only``: per combination, the sources' hit@k and MRR on all questions and on each fold."""
    from .retrieval import retrieval_assistant, retrieval_grid
    from .testset import load_testset

    assistant = retrieval_assistant(settings)
    status(assistant.ingest().summary() + f" (index in {settings.home})")
    table, results = retrieval_grid(assistant, load_testset(args.testset, args.limit), expand_grid(grid))
    print(table)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0

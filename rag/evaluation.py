"""Evaluation: run a test set through the chat's own answer path and report how it did.

``python -m rag eval [--testset FILE] [--corpus DIR] [--data DIR] [--limit N] [--json OUT] [--out DIR]
[--compare SETTING=V1,V2 ...]`` ingests the corpus into its own data folder (default
``<home>/eval/<corpus slug>``, never the user's index), asks the first N questions with ``Assistant.ask``
and writes ``report.md``, ``results.json`` and ``chart.png`` (default folder ``eval-out/<test set name>``).
Several ``--compare`` flags form a grid: every combination runs on the one loaded model with per-question
overrides, so only settings that act per question (PER_QUESTION) can be compared. The metrics are pure
functions in metrics.py; their definitions are in eval_report.METRIC_NOTES and in every report, which
eval_report.py renders.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from .errors import IndexEmptyError, ModelError, RagError
from .eval_report import combo_label, compare_markdown, render_markdown, write_outputs
from .metrics import Record, error_record, score_answer, summarize
from .settings import PROJECT_DIR, Settings

ProgressFn = Callable[[float, str], None]
DEFAULT_TESTSET = PROJECT_DIR / "tests" / "testset.jsonl"
REQUIRED_KEYS = {"id": str, "question": str, "answer": str, "answerable": bool, "evidence": list}
# Settings that take effect per question (assistant.ask overrides); chunking or the model would need a rebuild.
PER_QUESTION = ("top_k", "candidates", "retrieval", "context_tokens", "context_mode", "sentence_tokens",
                "max_tokens", "temperature", "min_relevance", "support_threshold", "refuse_unsupported")


@dataclass
class EvalReport:
    """One run: metrics, per-question records, the settings and model it used, and its files."""
    metrics: dict
    records: list[Record]
    settings: dict
    model: dict
    testset: str
    seconds: float
    markdown: str = ""
    chart_path: Optional[Path] = None
    json_path: Optional[Path] = None
    overrides: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """``{"metrics": {...}, "settings", "model", "testset", "seconds", "overrides", "records": [...]}``."""
        return {"metrics": self.metrics, "settings": self.settings, "model": self.model, "testset": self.testset,
                "seconds": round(self.seconds, 1), "overrides": self.overrides,
                "records": [asdict(r) for r in self.records]}


@dataclass
class CompareReport:
    """Several runs of one test set, one per combination of settings."""
    runs: list[EvalReport]
    markdown: str = ""


def load_testset(path: Path, limit: Optional[int] = None) -> list[dict]:
    """The first ``limit`` items of a JSON Lines test set, checked; ``keywords`` defaults to [].

    Raises:
        RagError: the file is missing or a line is not a valid item (the message names the line).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RagError(f"Cannot read the test set {path} ({exc.strerror or exc}).") from None
    items = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            items.append(parse_item(line, f"{path}, line {number}"))
    if not items:
        raise RagError(f"The test set {path} holds no questions.")
    return items[:limit] if limit else items


def parse_item(line: str, where: str) -> dict:
    """One test-set line as a dict, or a RagError saying what is wrong with it."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RagError(f"{where}: not valid JSON ({exc.msg}).") from None
    if not isinstance(item, dict):
        raise RagError(f"{where}: expected a JSON object.")
    for key, kind in REQUIRED_KEYS.items():
        if not isinstance(item.get(key), kind):
            raise RagError(f"{where}: '{key}' is missing or not a {kind.__name__}.")
    item.setdefault("keywords", [])
    groups_ok = isinstance(item["keywords"], list) and all(
        isinstance(g, list) and g and all(isinstance(k, str) and k.strip() for k in g) for g in item["keywords"])
    if not groups_ok or not all(isinstance(e, str) and e.strip() for e in item["evidence"]):
        raise RagError(f"{where}: 'evidence' must be a list of quotes and 'keywords' a list of lists of strings.")
    return item


def run_evaluation(assistant, testset_path: Path, limit: Optional[int] = None, progress: Optional[ProgressFn] = None,
                   out_dir: Optional[Path] = None, overrides: Optional[dict] = None) -> EvalReport:
    """Ask every test-set question with ``assistant.ask`` and score the answers.

    Args:
        assistant: a loaded pipeline.Assistant whose index holds the test set's corpus.
        testset_path: JSON Lines test set; limit keeps its first N questions.
        progress: called as ``progress(fraction, message)`` before each question and at the end.
        out_dir: when given, report.md, results.json and chart.png are written there.
        overrides: per-question settings (e.g. ``{"top_k": 6}``), as ``assistant.ask`` takes them.
    Returns:
        EvalReport with ``metrics``, ``records``, ``markdown`` and ``chart_path`` (None without out_dir).
    Raises:
        RagError: a bad test set or setting, an empty index or a model that fails.
    """
    items = load_testset(testset_path, limit)
    overrides = dict(overrides or {})
    settings = assistant.with_overrides(overrides)
    progress = progress or (lambda fraction, message: None)
    started, summary = time.perf_counter(), settings_summary(settings)  # the code version as the run starts
    records = []
    for number, item in enumerate(items):
        progress(number / len(items), f"Question {number + 1}/{len(items)}: {item['question'][:60]}")
        records.append(ask_one(assistant, item, overrides))
    progress(1.0, f"{len(items)} questions answered")
    report = EvalReport(summarize(records), records, summary, describe_model(assistant),
                        str(testset_path), time.perf_counter() - started, overrides=overrides)
    if out_dir:
        write_outputs(report, Path(out_dir))
    else:
        report.markdown = render_markdown(report)
    return report


def load_report(path: Path) -> EvalReport:
    """A saved run (results.json) back as an EvalReport, metrics recomputed from its records; no model needed."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    records = [Record(**r) for r in data["records"]]
    report = EvalReport(summarize(records), records, data["settings"], data["model"], data["testset"],
                        data["seconds"], overrides=data.get("overrides", {}))
    report.chart_path = Path(path).with_name("chart.png") if Path(path).with_name("chart.png").exists() else None
    report.markdown = render_markdown(report)
    return report


def ask_one(assistant, item: dict, overrides: dict) -> Record:
    """Ask one question; a per-question failure is recorded, an empty index or a broken model is raised."""
    try:
        answer = assistant.ask(item["question"], **overrides)
    except (IndexEmptyError, ModelError):
        raise
    except RagError as exc:
        return error_record(item, str(exc))
    return score_answer(item, answer, assistant.similarity)


def compare(assistant, testset_path: Path, grid: dict[str, Sequence], limit: Optional[int] = None,
            progress: Optional[ProgressFn] = None, out_dir: Optional[Path] = None) -> CompareReport:
    """Run the test set once per combination of the grid's values and tabulate the metrics.

    ``grid={'retrieval': ['dense', 'bm25'], 'top_k': [2, 4]}`` runs the 4 combinations; every run's
    own report goes to ``out_dir/<label>/`` and the table to ``out_dir/compare.md`` and ``compare.json``.
    """
    # validated and typed ('4' -> 4) before the first question, so a bad value fails now, not after an hour
    combos = [{k: getattr(assistant.with_overrides({k: v}), k) for k, v in combo.items()} for combo in expand_grid(grid)]
    progress = progress or (lambda fraction, message: None)
    runs = []
    for i, combo in enumerate(combos):
        label = combo_label(combo)
        def step(fraction, message, i=i, label=label):
            progress((i + fraction) / len(combos), f"[{label}] {message}")
        runs.append(run_evaluation(assistant, testset_path, limit, step,
                                   Path(out_dir) / label if out_dir else None, combo))
    report = CompareReport(runs, compare_markdown(runs))
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "compare.md").write_text(report.markdown, encoding="utf-8")
        (Path(out_dir) / "compare.json").write_text(json.dumps(
            [{"overrides": r.overrides, "metrics": r.metrics} for r in runs], indent=2), encoding="utf-8")
    return report


def parse_compare(specs: Sequence[str]) -> dict[str, list[str]]:
    """``parse_compare(['top_k=2,4', 'retrieval=bm25']) -> {'top_k': ['2', '4'], 'retrieval': ['bm25']}``.

    Raises:
        RagError: not ``SETTING=V1,V2``, a repeated setting, or one that cannot change per question.
    """
    grid: dict[str, list[str]] = {}
    for spec in specs:
        key, _, values = spec.partition("=")
        key = key.strip().replace("-", "_")
        options = [v.strip() for v in values.split(",") if v.strip()]
        if not options:
            raise RagError(f"--compare {spec!r}: expected SETTING=VALUE1,VALUE2 (e.g. top_k=2,4,6).")
        if key not in PER_QUESTION:
            raise RagError(f"--compare cannot vary '{key}' per question; choose from {', '.join(PER_QUESTION)}.")
        if key in grid:
            raise RagError(f"--compare names '{key}' twice; list its values once, comma-separated.")
        grid[key] = options
    return grid


def expand_grid(grid: dict[str, Sequence]) -> list[dict]:
    """Every combination: ``expand_grid({'a': [1, 2], 'b': ['x']}) -> [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]``."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))] or [{}]


def settings_summary(settings: Settings) -> dict:
    """Every setting of the run (the password left out) and the code version, so a run can be repeated."""
    values = {k: str(v) if isinstance(v, Path) else v for k, v in settings.model_dump().items() if k != "password"}
    return {"code_version": code_version(), **values}


def code_version() -> str:
    """The project's git commit, with ``+modified`` when files differ from it; '' outside a checkout."""
    import subprocess

    try:
        def git(*args):
            return subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10).stdout
        commit = git("rev-parse", "--short", "HEAD").strip()
        return commit + ("+modified" if commit and git("status", "--porcelain", "--untracked-files=no").strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def describe_model(assistant) -> dict:
    """Model name, file, quantization, context and threads (empty fields when the stand-in cannot say)."""
    try:
        return assistant.generator.describe()
    except Exception:  # a test stand-in without llama.cpp metadata
        return {"file": getattr(assistant.generator, "name", "")}


def register_cli(subparsers, add_setting_flags) -> None:
    """Add ``eval`` to the command line (called by cli.register_optional)."""
    from .cli import COMMON_FLAGS

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
                        help=f"Run once per value; repeated flags form a grid. Settings: {', '.join(PER_QUESTION)}.")
    add_setting_flags(parser, [name for name in COMMON_FLAGS if name not in ("home", "corpus")])
    parser.set_defaults(run=cmd_eval)


def positive_int(text: str) -> int:
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of questions >= 1, got {text!r}")
    return int(text)


def cmd_eval(args) -> int:
    """``python -m rag eval``: index the corpus into the eval data folder, run, write and print the results."""
    from tqdm import tqdm

    from .cli import COMMON_FLAGS, status
    from .pipeline import Assistant

    count = len(load_testset(args.testset, args.limit))  # a bad test set fails before the model loads
    grid = parse_compare(args.compare)
    flags = {name: getattr(args, name, None) for name in COMMON_FLAGS if name not in ("home", "corpus")}
    settings = eval_settings(args.corpus, args.home, status, **flags)
    assistant = Assistant(settings, progress=status)
    with tqdm(total=100, desc="Indexing", unit="%", file=sys.stderr, leave=False) as bar:
        status(assistant.ingest(progress=tqdm_progress(bar)).summary() + f" (index in {settings.home})")
    out_dir = args.out or Path("eval-out") / Path(args.testset).stem
    with tqdm(total=count * len(expand_grid(grid)), desc="Evaluating", unit="q", file=sys.stderr) as bar:
        if grid:
            runs = compare(assistant, args.testset, grid, args.limit, tqdm_progress(bar), out_dir).runs
        else:
            runs = [run_evaluation(assistant, args.testset, args.limit, tqdm_progress(bar), out_dir)]
    if args.json_out:
        data = runs[0].to_json() if not grid else [run.to_json() for run in runs]
        Path(args.json_out).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    print(compare_markdown(runs) if grid else runs[0].markdown.split("## How answers")[0].rstrip())
    status(f"Reports in {out_dir}")
    return 0


def tqdm_progress(bar) -> ProgressFn:
    """A ``progress(fraction, message)`` that moves a tqdm bar."""
    def update(fraction: float, message: str) -> None:
        bar.set_postfix_str(message[:60], refresh=False)
        bar.update(round(fraction * bar.total) - bar.n)
    return update


def eval_settings(corpus: Optional[Path] = None, home: Optional[Path] = None, progress=None, **flags) -> Settings:
    """Settings that index ``corpus`` into its own data folder (default ``<home>/eval/<corpus slug>``),
    reusing the user's prepared model; flags are other settings (``top_k=6``). The chat's Evaluation
    tab can build ``Assistant(eval_settings(corpus), llm=…, embedder=…)`` around its loaded model.

    Raises:
        RagError: the corpus folder does not exist, or a setting is invalid.
    """
    from .models import resolve_model

    base = Settings.load(**flags)
    corpus = Path(corpus or base.corpus).expanduser().resolve()
    if not corpus.is_dir():
        raise RagError(f"Corpus folder not found: {corpus}.")
    name = corpus_slug(corpus)
    extra = {"home": home or base.home / "eval" / name, "corpus": corpus,
             # resolved from the user's home, so a fresh eval folder does not prepare a second copy of the model
             "model": base.model or resolve_model(base, progress)}
    if base.chroma_host and not flags.get("collection"):
        extra["collection"] = f"eval-{name}"[:60]  # a shared server: keep the benchmark out of the user's collection
    return Settings.load(**{**flags, **extra})


def corpus_slug(corpus: Path) -> str:
    """A folder name unique to a corpus path: ``corpus_slug(Path('/b/rgb/corpus')) -> 'rgb-corpus-<6 hex>'``."""
    resolved = corpus.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:6]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", f"{resolved.parent.name}-{resolved.name}").strip("-") + f"-{digest}"

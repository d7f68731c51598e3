"""Evaluation runs: a test set through the chat's own answer path (``Assistant.ask``), scored.

``run_evaluation`` asks the first N questions of a test set and scores each answer with the pure
functions of metrics.py; ``compare`` runs it once per combination of per-question settings, on the one
loaded model. report.py renders what this measured; the command line is ``rag eval`` (rag/cli.py).
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Optional, Sequence

from ..distinctive import in_language
from ..errors import IndexEmptyError, ModelError, RagError
from ..index import ProgressFn
from ..settings import PROJECT_DIR, Settings, expand_grid
from .records import Record, error_record, score_answer, summarize
from .report import CompareReport, EvalReport, combo_label, compare_markdown, render_markdown, write_outputs
from .testset import earlier_turns, load_testset

# Settings that take effect per question (assistant.ask overrides); chunking or the model would need a rebuild.
PER_QUESTION = ("top_k", "candidates", "retrieval", "prefer_numbers", "context_tokens", "context_mode", "sentence_tokens",
                "max_tokens", "temperature", "min_relevance", "support_threshold", "refuse_unsupported",
                "refuse_missing_numbers", "min_confidence", "min_stated", "show_titles", "refuse_missing",
                "check_sentences", "check_specifics", "min_claim", "min_grounded", "time_aware", "timeline_events")


def run_evaluation(assistant, testset_path: Path, limit: Optional[int] = None, progress: Optional[ProgressFn] = None,
                   out_dir: Optional[Path] = None, overrides: Optional[dict] = None, judge=None) -> EvalReport:
    """Ask every test-set question with ``assistant.ask`` and score the answers.

    Args:
        assistant: a loaded pipeline.Assistant whose index holds the test set's corpus.
        testset_path: JSON Lines test set; limit keeps its first N questions.
        progress: called as ``progress(fraction, message)`` before each question and at the end.
        out_dir: when given, report.md, results.json and chart.png are written there.
        overrides: per-question settings (e.g. ``{"top_k": 6}``), as ``assistant.ask`` takes them.
        judge: a judge.Judge whose verdicts add the ``judge_*`` metrics; None for none.
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
        records.append(ask_one(assistant, item, overrides, judge))
    progress(1.0, f"{len(items)} questions answered")
    model = {**describe_model(assistant), **({"judge": judge.name} if judge else {})}
    report = EvalReport(summarize(records), records, summary, model,
                        str(testset_path), time.perf_counter() - started, overrides=overrides)
    if out_dir:
        write_outputs(report, Path(out_dir))
    else:
        report.markdown = render_markdown(report)
    return report


def ask_one(assistant, item: dict, overrides: dict, judge=None) -> Record:
    """Ask one question (and judge it); a per-question failure is recorded, an empty index or a broken model is raised."""
    try:
        asked_on = {"today": item["today"]} if item.get("today") else {}  # the day the test set says it is asked
        answer = assistant.ask(item["question"], earlier_turns(item), **overrides, **asked_on)
    except (IndexEmptyError, ModelError):
        raise
    except RagError as exc:
        return error_record(item, str(exc))
    retriever = getattr(assistant, "retriever", None)  # the pipeline's; a test's stand-in has none: English alone
    record = score_answer(item, answer, assistant.similarity, retriever.common() if retriever else in_language)
    if judge is not None:
        record.judge = judge.judge(item, answer)
    return record


def compare(assistant, testset_path: Path, grid: dict[str, Sequence], limit: Optional[int] = None,
            progress: Optional[ProgressFn] = None, out_dir: Optional[Path] = None, judge=None) -> CompareReport:
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
                                   Path(out_dir) / label if out_dir else None, combo, judge))
    report = CompareReport(runs, compare_markdown(runs))
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "compare.md").write_text(report.markdown, encoding="utf-8")
        (Path(out_dir) / "compare.json").write_text(json.dumps(
            [{"overrides": r.overrides, "metrics": r.metrics} for r in runs], indent=2), encoding="utf-8")
    return report


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
    """Model name, file, quantization, context and threads."""
    return assistant.generator.describe()


def eval_settings(corpus: Optional[Path] = None, home: Optional[Path] = None, progress=None, **flags) -> Settings:
    """Settings that index ``corpus`` into its own data folder (default ``<home>/eval/<corpus slug>``),
    reusing the user's prepared model; flags are other settings (``top_k=6``). The chat's Evaluation
    tab can build ``Assistant(eval_settings(corpus), llm=…, embedder=…)`` around its loaded model.

    Raises:
        RagError: the corpus folder does not exist, or a setting is invalid.
    """
    from ..models import resolve_model

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

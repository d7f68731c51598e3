"""Evaluation reports: the Markdown report, the comparison table and the chart of one or more runs.

Pure rendering of what run.py measured (it never imports run.py); the metric definitions live here because every report
states them next to the numbers.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from ..settings import PROJECT_DIR
from ..text import code_span, inert
from .records import SCORES, Record, accuracy_by, risk_coverage

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


METRIC_NOTES = {
    "hit_at_k": "answerable questions with an evidence quote inside one of the passages given to the model",
    "mrr": "mean of 1/rank of the first passage holding evidence (0 when none does)",
    "keyword_recall": "share of required facts (keyword groups) named in the answer; refused = 0",
    "token_f1": "SQuAD token F1 of the answer (markers removed) against the reference; refused = 0",
    "semantic_similarity": "cosine similarity of answer and reference embeddings (MiniLM), floored at 0; refused = 0",
    "citation_precision": "the pipeline's own checker: cited sources it judged to support their sentence, per answer, "
                          "averaged over non-refused answers (not independent of the pipeline)",
    "citation_recall": "the pipeline's own checker: answer sentences with at least one cited source it judged supporting, "
                       "averaged over non-refused answers (not independent of the pipeline)",
    "evidence_citation_precision": "independent of the checker: of all sources cited in non-refused answers to answerable "
                                   "questions, the share holding an evidence quote of the test set (the hit@k rule)",
    "evidence_citation_recall": "independent of the checker: non-refused answers to answerable questions that cite at "
                                "least one source holding an evidence quote",
    "uncited_answer_rate": "non-refused answers without any citation (they score 0 on both citation metrics)",
    "accuracy": "the test set's judgement: answerable questions answered with every required fact and a cited source "
                "holding an evidence quote, and unanswerable ones refused, over all questions",
    "refusal_accuracy": "unanswerable questions the assistant refused",
    "false_refusal_rate": "answerable questions the assistant refused",
}
JUDGE_NOTES = {
    "judge_correct": "the judge model: answerable questions whose answer it finds the same as the reference (refused = wrong)",
    "judge_citation_precision": "the judge model: (sentence, cited source) pairs where it finds the source states the sentence",
    "judge_citation_recall": "the judge model: per answer, cited sentences with a source it finds supporting, averaged",
}
LOWER_IS_BETTER = ("uncited_answer_rate", "false_refusal_rate")
LATENCIES = (("retrieval", "retrieve"), ("first token", "ttft"), ("total", "total"))


def combo_label(combo: dict) -> str:
    """``combo_label({'top_k': 4, 'retrieval': 'bm25'}) -> 'top_k=4,retrieval=bm25'``; 'defaults' for none."""
    return ",".join(f"{k}={v}" for k, v in combo.items()) or "defaults"


def write_outputs(report: EvalReport, out_dir: Path) -> None:
    """chart.png, report.md and results.json in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report.chart_path = draw_chart(report, out_dir / "chart.png")
    if scored(report):
        draw_risk_chart(report, out_dir / "risk.png")
    report.json_path = out_dir / "results.json"
    report.markdown = render_markdown(report)
    (out_dir / "report.md").write_text(report.markdown, encoding="utf-8")
    report.json_path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")


def render_markdown(report: EvalReport) -> str:
    """The human report: scores with their definitions, latency, the judgement rules, settings, every question."""
    m, s, model = report.metrics, report.settings, report.model
    lines = [f"# Evaluation: {inert(Path(report.testset).name)}", "",
             f"{m['questions']} questions ({m['answerable']} answerable, {m['unanswerable']} unanswerable) from "
             f"{code_span(shown_path(report.testset))}, answered by {code_span(str(model.get('file', '?')))} "
             f"({inert(str(model.get('quantization') or '?'))}, "
             f"n_ctx {model.get('n_ctx', '?')}, threads {model.get('threads', '?')}) in {report.seconds / 60:.1f} min; "
             f"{m['refused']} refused, {m['errors']} failed.", "",
             "## Scores", "", "| Metric | Value | Definition |", "|---|---|---|"]
    for name, note in METRIC_NOTES.items():
        label = f"{name} (k={s['top_k']})" if name == "hit_at_k" else name
        lines.append(f"| {label} | {decimal(m[name])} | {note} |")
    lines += [f"| {name} | {decimal(m[name])} | {note} ({inert(str(model.get('judge', '?')))}) |"
              for name, note in JUDGE_NOTES.items() if name in m]
    lines += by_type_lines(report)
    lines += ["", "## Latency", "", "| Stage | p50 | p95 |", "|---|---|---|"]
    lines += [f"| {label} (ms) | {decimal(m[f'{key}_p50_ms'], 0)} | {decimal(m[f'{key}_p95_ms'], 0)} |" for label, key in LATENCIES]
    lines += [f"| decoding (tokens/s, median) | {decimal(m['tokens_per_s'], 1)} | |", "",
              "## How answers are judged", "", *judgement_notes(s), "",
              "## Settings", "", "| Setting | Value |", "|---|---|",
              *[f"| {k} | {value_cell(v)} |" for k, v in s.items()],
              *[f"| overridden: {cell(k, 60)} | {value_cell(v)} |" for k, v in report.overrides.items()], ""]
    if report.chart_path:
        lines += [f"![scores and latencies]({Path(report.chart_path).name})", ""]
    lines += risk_lines(report)
    lines += ["## Per question", "", "| id | question | answer | citations | verdict | keywords | F1 |",
              "|---|---|---|---|---|---|---|", *[record_row(r) for r in report.records]]
    return "\n".join(lines) + "\n"


def by_type_lines(report: EvalReport) -> list[str]:
    """Accuracy per question type and per language, when the test set gives them (records.accuracy_by)."""
    lines = []
    for key, label in (("kind", "question type"), ("lang", "language")):
        groups = accuracy_by(report.records, key)
        if groups:
            lines += ["", f"### Accuracy by {label}", "", f"| {label} | accuracy | questions |", "|---|---|---|"]
            lines += [f"| {inert(name)} | {decimal(g['accuracy'])} | {g['questions']} |" for name, g in groups.items()]
    return lines


def scored(report: EvalReport) -> list[str]:
    """The refusal scores (records.SCORES) this run computed for at least one question."""
    return [score for score in SCORES if any(getattr(r, score) is not None for r in report.records)]


def risk_lines(report: EvalReport) -> list[str]:
    """The refusal trade-off over thresholds of each answerability score, with the run's own thresholds."""
    lines = []
    for score in scored(report):
        setting = SCORES[score]
        points = risk_coverage(report.records, score)
        step = max(1, len(points) // 12)
        shown = points[::step] + ([points[-1]] if (len(points) - 1) % step else [])
        lines += [f"## Refusal threshold on `{score}`: what each would give", "",
                  "Refused at threshold t: the questions refused for another reason, plus those whose "
                  f"`{score}` is below t. This run used {setting} = {report.settings.get(setting)}. "
                  "Chart: `risk.png`.", "", "| threshold | refusal_accuracy | false_refusal_rate |", "|---|---|---|"]
        lines += [f"| {p['threshold']:.3f} | {decimal(p['refusal_accuracy'])} | {decimal(p['false_refusal_rate'])} |"
                  for p in shown] + [""]
    return lines


def draw_risk_chart(report: EvalReport, path: Path) -> Path:
    """False-refusal rate (x) against refusal accuracy (y) over thresholds of each score, the run's own marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.8))
    ax = fig.subplots()
    for score in scored(report):
        points = risk_coverage(report.records, score)
        line, = ax.plot([p["false_refusal_rate"] or 0 for p in points], [p["refusal_accuracy"] or 0 for p in points],
                        marker=".", drawstyle="steps-post", label=f"threshold on {score}")
        chosen = report.settings.get(SCORES[score])
        if chosen:
            at = [p for p in points if p["threshold"] <= chosen + 1e-9][-1]
            ax.plot([at["false_refusal_rate"] or 0], [at["refusal_accuracy"] or 0], "o", color=line.get_color(),
                    markersize=9, markeredgecolor="black", label=f"{SCORES[score]} = {chosen}")
    ax.legend(loc="lower right")
    ax.set_xlabel("false refusal rate (answerable questions refused)")
    ax.set_ylabel("refusal accuracy (unanswerable refused)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{Path(report.testset).name}: refusal trade-off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def shown_path(path: str) -> str:
    """A path relative to the project when that is shorter: ``'/…/main/tests/t.jsonl' -> 'tests/t.jsonl'``."""
    relative = os.path.relpath(Path(path).resolve(), PROJECT_DIR)
    return relative if len(relative) < len(str(path)) else str(path)


def judgement_notes(settings: dict) -> list[str]:
    """The rules behind the numbers, stated in every report."""
    return [
        "- **Evidence**: a passage holds evidence when an evidence quote is inside it after lower-casing, plain quotes "
        "and collapsed whitespace; a quote cut by a chunk boundary counts when at least 80% of its words appear in "
        "the passage as one unbroken run. Only the passages given to the model count (`Answer.passages`).",
        "- **Citation support** (`citation_precision/recall`) is the pipeline's own judgement, not an independent one: "
        "a cited source supports its sentence when "
        "max(share of the sentence's content words found in the passage, best MiniLM cosine similarity to one "
        f"passage sentence) >= support_threshold = {settings['support_threshold']}. Precision counts (sentence, cited "
        "source) pairs, recall counts sentences; an answer without any citation scores 0 on both, as in ALCE.",
        "- **Refusal**: the pipeline's `Answer.refused`, for the reason in `refused_by`: no passage reaching "
        f"min_relevance = {settings['min_relevance']}; a number of the question in no source (refuse_missing_numbers = "
        f"{settings.get('refuse_missing_numbers')}); the model's own refusal; or the answer's names and numbers written "
        f"with a confidence below min_confidence = {settings.get('min_confidence')} (the answer is withheld).",
        "- **Citations by the evidence** (`evidence_citation_*`) do not use the checker: a cited source counts when it "
        "holds an evidence quote by the rule above.",
        "- **Answer quality** (keyword recall, token F1, semantic similarity) is averaged over answerable questions; "
        "a refused or failed answerable question scores 0 on all three. Citation markers are removed first.",
        "- **Latency**: retrieval and total over all questions; first token and tokens/s only where the model "
        "generated. Percentiles interpolate linearly between ranks.",
        "- **Verdict**: correct = every keyword group found, partial = some, wrong = none; "
        "\"retrieval miss\" = no passage held evidence. Citations: ✓ supports its sentence, ✗ does not.",
    ]


def record_row(r: Record) -> str:
    """One Markdown table row for a record."""
    cites = " ".join(f"[{c['n']}]{'✓' if c['supported'] else '✗'}" for c in r.citations) or "—"
    answer = r.answer if not r.error else f"(error: {r.error})"
    return (f"| {cell(r.id, 60)} | {cell(r.question, 90)} | {cell(answer, 220)} | {cites} | {r.verdict} | "
            f"{decimal(r.keyword_recall, 2)} | {decimal(r.token_f1, 2)} |")


def cell(text: str, limit: int) -> str:
    """Text fit for one Markdown table cell, no image or link in it (text.inert):
    ``cell('a|b\\nc', 10) -> 'a\\\\|b c'``; ``cell('![i](http://e/i.png)', 40) -> '![i] (http(:)//e/i.png)'``."""
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return inert(text).replace("|", "\\|")


def value_cell(value) -> str:
    """A setting's value in a table cell, as code (never rendered): ``value_cell('code+name') -> '`code+name`'``."""
    return code_span(str(value)).replace("|", "\\|")


def decimal(value, digits: int = 3) -> str:
    """``decimal(0.51234) -> '0.512'``; ``decimal(None) -> '—'`` (not applicable)."""
    return "—" if value is None else f"{value:.{digits}f}"


COMPARED = ("hit_at_k", "mrr", "keyword_recall", "token_f1", "semantic_similarity", "evidence_citation_precision",
            "evidence_citation_recall", "citation_precision", "citation_recall", "uncited_answer_rate", "accuracy",
            "refusal_accuracy", "false_refusal_rate", "ttft_p50_ms", "total_p50_ms", "tokens_per_s")


def compare_markdown(runs: Sequence[EvalReport]) -> str:
    """One table, one row per run."""
    lines = ["| settings | " + " | ".join(COMPARED) + " |", "|---" * (len(COMPARED) + 1) + "|"]
    for run in runs:
        values = [decimal(run.metrics[k], 0 if k.endswith("_ms") else 1 if k == "tokens_per_s" else 3) for k in COMPARED]
        lines.append(f"| {combo_label(run.overrides)} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def draw_chart(report: EvalReport, path: Path) -> Path:
    """Scores (bars, 0–1) beside p50/p95 latencies (seconds), as a PNG; no pyplot global state."""
    from matplotlib.figure import Figure

    m = report.metrics
    fig = Figure(figsize=(12, 4.8))
    scores, latency = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    names = list(METRIC_NOTES)
    scores.barh(names, [m[n] or 0 for n in names], color=["#c44e52" if n in LOWER_IS_BETTER else "#4c72b0" for n in names])
    for y, name in enumerate(names):
        scores.text(min((m[name] or 0) + 0.01, 0.9), y, decimal(m[name], 2) if m[name] is not None else "n/a", va="center")
    scores.set_xlim(0, 1)
    scores.invert_yaxis()
    scores.set_title("Scores (red: lower is better)")
    stages = range(len(LATENCIES))
    for offset, q in ((-0.2, "p50"), (0.2, "p95")):
        latency.bar([x + offset for x in stages], [(m[f"{key}_{q}_ms"] or 0) / 1000 for _, key in LATENCIES], 0.4, label=q)
    latency.set_xticks(list(stages), [label for label, _ in LATENCIES])
    latency.set_ylabel("seconds")
    latency.set_title(f"Latency ({decimal(m['tokens_per_s'], 1)} tokens/s median)")
    latency.legend()
    fig.suptitle(f"{Path(report.testset).name}: {m['questions']} questions, {report.model.get('file', '')}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path

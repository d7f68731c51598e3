"""Benchmark report: the plain-text table ``python -m rag bench`` prints from its results.

Pure formatting of what run.py measured: metric, value, and the load average while it was measured.
"""
from __future__ import annotations

from typing import Optional


def ratio(a, b) -> Optional[float]:
    """``ratio(2614, 2567) -> 1.018``; None when either side is missing (a stage failed or was skipped)."""
    return round(a / b, 3) if a and b else None


def amount(value, unit: str = "") -> str:
    """``amount(2567.4) -> '2,567'``, ``amount(0.984) -> '0.984'``, ``amount(None) -> '–'``."""
    if value is None:
        return "–"
    return (f"{value:,.0f}" if isinstance(value, (int, float)) and abs(value) >= 100 else f"{value:g}") + unit


def render_table(result: dict) -> str:
    """The report as a plain-text table: metric, value, load average while it was measured."""
    lines, st = [], result["stages"]
    runs = [name for name in st if name.startswith("generation")]
    for name in runs:
        lines += render_generation(name, st[name])
    if len(runs) > 1:
        base = (st[runs[0]].get("questions") or {}).get("warm_ttft_ms_p50")
        lines.append("Warm TTFT p50 relative to the first: " + ", ".join(
            f"{name[11:] or 'defaults'} {amount(ratio((st[name].get('questions') or {}).get('warm_ttft_ms_p50'), base))}" for name in runs))
    lines += render_others(st)
    return "\n".join(lines)


def render_generation(name: str, g: dict) -> list[str]:
    """Rows of one generation stage: overhead against bare llama.cpp, prefix reuse, the test-set questions."""
    lines: list[str] = []
    add = lambda *cells: add_row(lines, *cells)  # noqa: E731
    model = g.get("model", {})
    lines.append(f"{name.capitalize()} ({model.get('file', '?')}, threads {model.get('threads')}/{model.get('threads_batch')})"
                 + (f"  ERROR {g['error']}" if "error" in g else ""))
    o = g.get("generation") or {}
    if o:
        add("TTFT p50 bare / pipeline (ms)", f"{amount(o['bare']['ttft_ms_p50'])} / {amount(o['pipeline']['ttft_ms_p50'])}",
            f"load {' '.join(r['load'] for r in o['bare']['runs'])}")
        add("tokens/s p50 bare / pipeline", f"{amount(o['bare']['tokens_per_s_p50'])} / {amount(o['pipeline']['tokens_per_s_p50'])}")
        add("ratio pipeline/bare: TTFT (≤1.10), tok/s (≥0.95)", f"{amount(o['ttft_ratio'])} / {amount(o['tokens_per_s_ratio'])}")
        r = o["prefix_reuse"]
        add("TTFT whole prompt / static prefix cached (ms)", f"{amount(r['ttft_ms_cache_reset'])} / {amount(r['ttft_ms_prefix_cached'])}",
            f"load {r['load']}")
    q = g.get("questions") or {}
    if q:
        lines.append(f"Questions ({q['n']} from the test set, context {g['settings'].get('context_mode', '?')})")
        add("TTFT cold: first after load (ms)", amount(q["cold_ttft_ms"]), f"load {q['rows'][0]['load']}" if q["rows"] else "")
        add("TTFT warm p50 / p95 (ms)", f"{amount(q['warm_ttft_ms_p50'])} / {amount(q['warm_ttft_ms_p95'])}",
            f"load {' '.join(r['load'] for r in q['rows'][1:])}")
        add("prompt tokens p50 / answer total p50 (ms)", f"{amount(q['prompt_tokens_p50'])} / {amount(q['total_ms_p50'])}")
        add("decode tokens/s p50 / refused", f"{amount(q['tokens_per_s_p50'])} / {q['refused']}")
        add("Assistant() load (s) / peak RSS (MB)", f"{amount(g['assistant_init_s'])} / {amount(g.get('peak_rss_mb'))}")
    f = g.get("followups") or {}
    if f:
        lines.append(f"Follow-ups ({f['n']} two-turn conversations, {f['rewritten']} rewritten; goal: gap ≤ 1000 ms)")
        add("TTFT p50 first question / follow-up (ms)", f"{amount(f['first_ttft_ms_p50'])} / {amount(f['follow_up_ttft_ms_p50'])}",
            f"load {' '.join(r['load'] for r in f['rows'])}")
        add("follow-up gap p50 (ms)", amount(f["gap_ms"]))
    return lines


def add_row(lines: list[str], name: str, value: str, load: str = "") -> None:
    lines.append(f"  {name:<46} {value:>24}   {load}")


def render_others(st: dict) -> list[str]:
    """Rows of the start-up, ingest and retrieval stages."""
    lines: list[str] = []
    add = lambda *cells: add_row(lines, *cells)  # noqa: E731
    s = st.get("startup", {})
    if s:
        lines.append("Start-up: python app.py" + (f"  ERROR {s['error']}" if "error" in s else ""))
        add("until it serves / first answer / both (s)",
            f"{amount(s.get('app_ready_s'))} / {amount(s.get('first_answer_s'))} / {amount(s.get('ready_to_first_answer_s'))}",
            f"load {s.get('load_start')}..{s.get('load_end')}")
    i = st.get("ingest", {})
    if i:
        lines.append("Ingest (RGB passages)" + (f"  ERROR {i['error']}" if "error" in i else ""))
        if "error" not in i:
            add("documents / chunks / seconds", f"{i['documents']} / {i['chunks']} / {amount(i['seconds'])}", f"load {i['load']}")
            add("documents/s / chunks/s / embedded texts/s",
                f"{amount(i['documents_per_s'])} / {amount(i['chunks_per_s'])} / {amount(i['embedding_texts_per_s'])}")
            add("embedding share of time / peak RSS (MB)", f"{amount(i['embedding_share'])} / {amount(i.get('peak_rss_mb'))}",
                f"(after load {amount(i['rss_mb_after_load'])})")
    r = st.get("retrieval", {})
    if r:
        lines.append("Retrieval p50 / p95 ms on a settled index (first query after growing it)"
                     + (f"  ERROR {r['error']}" if "error" in r else ""))
        for row in r.get("sizes", []):
            cells = "  ".join(f"{m} {amount(row[m]['p50_ms'])}/{amount(row[m]['p95_ms'])} ({amount(row[m]['first_ms'])})"
                              for m in ("dense", "bm25", "hybrid"))
            lines.append(f"  {row['chunks']:>7,} chunks: {cells}  BM25 rebuilt in {amount(row.get('settle_s'))} s"
                         f"  RSS {amount(row['peak_rss_mb'])} MB   load {row['load']}")
            if row.get("after_upload"):
                up = row["after_upload"]
                lines.append(f"           after a 10-chunk upload: first hybrid question {amount(up['first_ms'])} ms, "
                             f"p95 {amount(up['p95_ms'])} ms, BM25 current after {amount(up.get('bm25_current_after_s'))} s"
                             f"   load {up['load']}")
    return lines

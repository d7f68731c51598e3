"""Benchmark: ``python -m rag bench [--json OUT] [--quick]``: how fast the assistant is on this machine.

Each stage runs in a fresh subprocess, so its peak memory is its own and nothing stays cached
between stages; comparisons are measured within one run, in alternating order, because a shared
machine's speed drifts. The load average is recorded next to every measurement.

- generation: our Generator against bare ``Llama.create_chat_completion`` on the same Llama and
  messages, the static prompt prefix cached the same way before each call; and prefix reuse itself.
  With ``--remote URL`` the questions are also timed through a model server, in the same run.
- questions: time to first token over the test set, cold (first question after load) and warm.
- ingest: the RGB passages: documents/s, chunks/s, embedding texts/s, peak memory.
- retrieval: dense, BM25 and hybrid latency at growing sizes (retrieval_stage.py); beyond the RGB passages
  the chunks are synthetic (seeded random words, random unit vectors inserted directly, not embedded).
- startup: ``python app.py`` until it serves, then the first answer through its API.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ..settings import PROJECT_DIR, Settings
from .measure import loadavg, pct, peak_rss_mb  # noqa: F401  (run.py and command.py take them from here)
from .report import ratio
from .retrieval_stage import stage_retrieval

RGB = PROJECT_DIR.parent / "shared" / "bench" / "rgb"  # ../shared/bench/rgb beside the checkout; --rgb for elsewhere

SETTING_FLAGS = ("model", "n_ctx", "n_threads", "n_threads_batch", "n_batch", "flash_attn", "top_k", "max_tokens", "retrieval",
                 "context_tokens", "context_mode", "sentence_tokens", "warm_start")
QUICK = {"limit": 3, "pairs": 2, "sizes": [1000, 10000], "queries": 20, "conversations": 4}
FULL = {"limit": 12, "pairs": 3, "sizes": [1000, 10000, 100000], "queries": 30, "conversations": 8}
OVERHEAD_TOKENS = 32


def timed_stream(pieces) -> dict:
    """Consume a stream of text pieces: first-piece time, pieces and decode speed."""
    started = time.perf_counter()
    first = last = None
    count = 0
    for piece in pieces:
        if piece:
            last = time.perf_counter()
            first = first or last
            count += 1
    ttft = (first - started) * 1000 if first else None
    tps = (count - 1) / (last - first) if count > 1 and last > first else None
    return {"ttft_ms": round(ttft, 1) if ttft else None, "pieces": count, "tokens_per_s": round(tps, 2) if tps else None,
            "load": loadavg()}


# ---------- stage: generation and questions (one process: the model is loaded once) ----------

def bare_pieces(llm, messages, max_tokens, settings):
    """The bare llama-cpp-python call our Generator wraps, with the same sampling arguments."""
    for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0, top_p=0.95,
                                            seed=settings.seed, stream=True):
        yield chunk["choices"][0]["delta"].get("content")


def compare_generation(assistant, messages, pairs: int) -> dict:
    """Pipeline Generator vs bare calls, alternating order, each after the same cache priming."""
    from ..kvcache import read_static_prefix

    llm, settings = assistant.generator.llm, assistant.settings
    arms = {"bare": lambda: bare_pieces(llm, messages, OVERHEAD_TOKENS, settings),
            "pipeline": lambda: assistant.generator.stream(messages, OVERHEAD_TOKENS, 0.0)}
    runs = {"bare": [], "pipeline": []}
    for k in range(pairs):
        for name in (("bare", "pipeline") if k % 2 == 0 else ("pipeline", "bare")):
            read_static_prefix(llm, messages[0]["content"])  # as Generator.warm leaves it
            runs[name].append(timed_stream(arms[name]()))
    llm.reset()  # now the whole prompt must be read: the cost prefix reuse saves
    full = timed_stream(arms["bare"]())
    median = lambda name, key: pct([r[key] for r in runs[name]], 50)  # noqa: E731
    out = {name: {"ttft_ms_p50": median(name, "ttft_ms"), "tokens_per_s_p50": median(name, "tokens_per_s"), "runs": runs[name]}
           for name in runs}
    out["ttft_ratio"] = ratio(out["pipeline"]["ttft_ms_p50"], out["bare"]["ttft_ms_p50"])
    out["tokens_per_s_ratio"] = ratio(out["pipeline"]["tokens_per_s_p50"], out["bare"]["tokens_per_s_p50"])
    out["prefix_reuse"] = {"ttft_ms_cache_reset": full["ttft_ms"], "ttft_ms_prefix_cached": out["bare"]["ttft_ms_p50"],
                           "speedup": ratio(full["ttft_ms"], out["bare"]["ttft_ms_p50"]), "load": full["load"]}
    return out


def ask_all(assistant, items: list[dict]) -> tuple[list[dict], list]:
    """Every question through Assistant.stream, the one answer path, timed: (rows, answers)."""
    from ..pipeline import Answer

    rows, answers = [], []
    for item in items:
        answer = next(event for event in assistant.stream(item["question"]) if isinstance(event, Answer))
        t = answer.timings
        answers.append(answer)
        rows.append({"id": item.get("id"), "ttft_ms": t.ttft_ms or None, "total_ms": t.total_ms,
                     "retrieve_ms": t.retrieve_ms, "prompt_tokens": t.prompt_tokens,
                     "completion_tokens": t.completion_tokens, "tokens_per_s": round(t.tokens_per_s, 2),
                     "sources": len(answer.passages), "refused": answer.refused, "answer": answer.answer,
                     "withheld": answer.withheld, "load": loadavg()})
    return rows, answers


def stage_generation(p: dict) -> dict:
    from ..evaluation.run import settings_summary
    from ..evaluation.testset import load_testset
    from ..generation import build_messages
    from ..pipeline import Assistant
    from .followups import time_followups

    started = time.perf_counter()
    settings = Settings.load(**p["settings"], home=p["home"], corpus=p["corpus"])
    assistant = Assistant(settings)
    init_s = time.perf_counter() - started
    ingest = assistant.ingest()
    items = load_testset(Path(p["testset"]), p["limit"])
    rows, answers = ask_all(assistant, items)
    asked = next((a for a, r in zip(answers, rows) if r["ttft_ms"]), None)  # one that reached the model
    gen = {}
    if asked and p["pairs"] and not settings.llm_url:  # bare llama.cpp against the pipeline: in-process only
        gen = compare_generation(assistant, build_messages(assistant.prompts, asked.passages, asked.standalone_question),
                                 p["pairs"])
    warm, followups = [r for r in rows[1:] if r["ttft_ms"]], time_followups(assistant, p.get("conversations", 8))
    return {"assistant_init_s": round(init_s, 2), "index_chunks": assistant.index.count(),
            "ingest_s": round(ingest.seconds, 2), "generation": gen, "followups": followups,
            "questions": {"n": len(rows), "cold_ttft_ms": rows[0]["ttft_ms"] if rows else None,
                          "warm_ttft_ms_p50": pct([r["ttft_ms"] for r in warm], 50),
                          "warm_ttft_ms_p95": pct([r["ttft_ms"] for r in warm], 95),
                          "total_ms_p50": pct([r["total_ms"] for r in rows], 50),
                          "prompt_tokens_p50": pct([r["prompt_tokens"] for r in rows if r["prompt_tokens"]], 50),
                          "tokens_per_s_p50": pct([r["tokens_per_s"] for r in rows if r["tokens_per_s"]], 50),
                          "refused": sum(r["refused"] for r in rows), "rows": rows},
            "model": assistant.generator.describe(), "settings": settings_summary(settings)}


# ---------- stage: ingest ----------

def stage_ingest(p: dict) -> dict:
    from ..embeddings import MiniLMEmbedding
    from ..index import Index

    class TimedEmbedding(MiniLMEmbedding):
        texts, seconds = 0, 0.0

        def __call__(self, input):
            started = time.perf_counter()
            vectors = super().__call__(input)
            TimedEmbedding.texts += len(input)
            TimedEmbedding.seconds += time.perf_counter() - started
            return vectors

    base = peak_rss_mb()
    corpus = Path(p["corpus"])
    if p.get("docs"):  # a subset: link the first N files into a folder of their own
        subset = Path(p["home"]) / "corpus-subset"
        subset.mkdir(parents=True, exist_ok=True)
        for path in sorted(corpus.iterdir())[:p["docs"]]:
            (subset / path.name).write_bytes(path.read_bytes())
        corpus = subset
    settings = Settings.load(home=p["home"], corpus=corpus)
    started = time.perf_counter()
    index = Index(settings, TimedEmbedding())
    load_s = time.perf_counter() - started
    loaded_rss = peak_rss_mb()
    report = index.ingest()
    docs = len(report.added) + len(report.updated)
    return {"documents": docs, "chunks": report.chunks_written, "seconds": round(report.seconds, 2),
            "embedder_load_s": round(load_s, 2), "documents_per_s": round(docs / report.seconds, 1),
            "chunks_per_s": round(report.chunks_written / report.seconds, 1),
            "embedding_texts_per_s": round(TimedEmbedding.texts / max(TimedEmbedding.seconds, 1e-9), 1),
            "embedding_share": round(TimedEmbedding.seconds / report.seconds, 3),
            "rss_mb_before": base, "rss_mb_after_load": loaded_rss, "load": loadavg()}


# ---------- stage: start-up of the chat ----------

def stage_startup(p: dict) -> dict:
    """``python app.py`` on a free port until it serves, then one answer through its ``/ask`` API."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, **{f"RAG_{k.upper()}": str(v) for k, v in p["settings"].items()},
           "RAG_HOME": p["home"], "RAG_CORPUS": p["corpus"], "RAG_PORT": str(port)}
    log = Path(p["home"]) / "app.log"
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(PROJECT_DIR / "app.py")], cwd=PROJECT_DIR, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    result = {"load": loadavg()}
    try:
        while proc.poll() is None and time.perf_counter() - started < p.get("timeout", 300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                result["app_ready_s"] = round(time.perf_counter() - started, 2)
                break
            except OSError:
                time.sleep(0.2)
        if "app_ready_s" not in result:
            tail = log.read_text(errors="replace")[-400:]
            return {**result, "error": f"app.py did not serve (exit {proc.poll()}): {tail}"}
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False, analytics_enabled=False, download_files=False)
        asked = time.perf_counter()
        answer = client.predict(p["question"], api_name="/ask")
        result.update(first_answer_s=round(time.perf_counter() - asked, 2),
                      ready_to_first_answer_s=round(time.perf_counter() - started, 2),
                      first_answer_ttft_ms=(answer.get("timings") or {}).get("ttft_ms"), load_after=loadavg())
    except Exception as exc:  # the chat is another module's: report, never fail the whole bench
        result["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return result


STAGES = {"generation": stage_generation, "ingest": stage_ingest, "retrieval": stage_retrieval, "startup": stage_startup}

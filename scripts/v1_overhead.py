"""Time to first token of the seed question: through /v1 (the real app, the official openai client) ÷ in-process
``Assistant.stream`` (its own ttft_ms), same machine, same settings, pairs alternating in order.

Before each measured answer a different question is asked on the same side, so neither side reads the seed
prompt from llama.cpp's cache (the static system prompt stays cached on both). Usage:
``scripts/offline.sh .venv/bin/python scripts/v1_overhead.py [--pairs 6]``; prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluation.testset import SEED_QUESTION  # noqa: E402
from tests.app_fixtures import ROOT, running_app  # noqa: E402

OTHER = "What does Sam Altman think about export controls?"


def in_process_ttft(assistant) -> float:
    assistant.ask(OTHER, max_tokens=16)
    return assistant.ask(SEED_QUESTION, max_tokens=32).timings.ttft_ms


def v1_ttft(client) -> float:
    client.chat.completions.create(model="rag", messages=[{"role": "user", "content": OTHER}], max_tokens=16)
    started = time.perf_counter()
    for chunk in client.chat.completions.create(model="rag", messages=[{"role": "user", "content": SEED_QUESTION}],
                                                max_tokens=32, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            return round((time.perf_counter() - started) * 1000, 1)
    raise RuntimeError("no content chunk")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=6)
    args = parser.parse_args()
    from openai import OpenAI

    from rag.models import resolve_model
    from rag.pipeline import Assistant
    from rag.settings import Settings

    model = resolve_model(Settings(home=ROOT / ".rag"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "app").mkdir()
        with running_app(folder / "app", model) as app:
            client = OpenAI(base_url=app.url + "v1", api_key="x", max_retries=0, timeout=600)
            assistant = Assistant(Settings.load(home=folder / "home", corpus=ROOT / "corpus", model=model))
            assistant.ingest()
            in_process_ttft(assistant), v1_ttft(client)  # warm-up, not counted
            pairs = []
            for i in range(args.pairs):
                first, second = (in_process_ttft, v1_ttft) if i % 2 == 0 else (v1_ttft, in_process_ttft)
                a = first(assistant if first is in_process_ttft else client)
                b = second(assistant if second is in_process_ttft else client)
                local, remote = (a, b) if first is in_process_ttft else (b, a)
                pairs.append({"in_process_ms": local, "v1_ms": remote, "ratio": round(remote / local, 3)})
    print(json.dumps({"pairs": pairs, "median_in_process_ms": statistics.median(p["in_process_ms"] for p in pairs),
                      "median_v1_ms": statistics.median(p["v1_ms"] for p in pairs),
                      "median_ratio": statistics.median(p["ratio"] for p in pairs)}, indent=1))


if __name__ == "__main__":
    main()

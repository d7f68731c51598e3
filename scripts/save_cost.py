"""What keeping conversations costs per answer: ``Sidebar.save``'s store calls (save, list, title) (rag/web/conversations.py) of a
conversation after its n-th answer, each answer the size the chat stores (answer, 3 cited passages with their
highlights, the rendered message and sources panel), on a real SQLite file in a temporary folder.

The chat saves the whole conversation in one transaction after each answer, so the cost grows with its length;
it is printed for conversations of 1, 5, 10 and 20 answers, beside the answer itself (~4-10 s on 2 cores).
Usage: ``.venv/bin/python scripts/save_cost.py [--repeat 50]``; prints one JSON object.
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

from rag.web.conversations import owner_key, store_at  # noqa: E402

PASSAGE = ("OpenAI released gpt-oss, its first open-weight language models since GPT-2, as Chinese open-source "
           "models such as DeepSeek gained ground. ") * 6  # ~900 characters, a chunk of the corpus


def stored_turn(i: int) -> dict:
    """One answered turn as Chat.finish leaves it (sizes as the chat stores them)."""
    citations = [{"n": n, "doc_id": f"d{n}", "title": "OpenAI's open weights", "source": "openai.md", "chunk_id": f"c{n}",
                  "text": PASSAGE, "start": 2002, "end": 2902, "supported": True, "highlights": [[0, 120]]}
                 for n in (1, 2, 3)]
    answer = "OpenAI released gpt-oss to compete with Chinese open models [1]. It did so in August [2][3]."
    record = {"question": f"Question {i}?", "answer": answer, "refused": False, "refused_by": "", "citations": citations,
              "timings": {"retrieve_ms": 35.0, "ttft_ms": 2900.0, "total_ms": 6100.0, "prompt_tokens": 520,
                          "completion_tokens": 38, "tokens_per_s": 11.9}, "sources": []}
    sources = "".join(f'<article class="source-card" id="src-{i}-{n}"><blockquote>{PASSAGE}</blockquote></article>'
                      for n in (1, 2, 3))
    return {"question": f"Question {i}?", "answer": answer, "markdown": answer + "<div>timings</div>" * 4,
            "status": "answer", "sources": sources, "record": record}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    owner = owner_key(None, "m" * 43)
    result = {}
    with tempfile.TemporaryDirectory() as folder:
        store = store_at(Path(folder))
        for length in (1, 5, 10, 20):
            turns = [stored_turn(i) for i in range(length)]
            times = []
            for _ in range(args.repeat):
                kept = store.save(owner, "", turns[:1])
                started = time.perf_counter()
                store.save(owner, kept, turns)  # what Sidebar.save does after the length-th answer:
                store.list(owner)  # save, list (the sidebar's new order) and the title
                store.title(owner, kept)
                times.append((time.perf_counter() - started) * 1000)
            result[f"{length}_answers"] = {"median_ms": round(statistics.median(times), 2),
                                           "p90_ms": round(sorted(times)[int(0.9 * len(times))], 2)}
        result["store_bytes"] = Path(store.path).stat().st_size
    print(json.dumps(result))


if __name__ == "__main__":
    main()

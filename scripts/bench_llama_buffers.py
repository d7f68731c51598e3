"""Reading and decoding speed of one llama.cpp build with or without its extra weight buffers (docs/performance.md).

    .venv/bin/python scripts/bench_llama_buffers.py MODEL.gguf 0    # use_extra_bufts off (as rag/cpu.py's fallback)
    PYTHONPATH=/other/build .venv/bin/python scripts/bench_llama_buffers.py MODEL.gguf 1

Reads 1,500 tokens of the seed article in one eval, then decodes 32 tokens greedily; prints one JSON line.
Alternate the builds and settings in one run: the machine is noisy.
"""
import json
import sys
import time
from pathlib import Path

import llama_cpp.llama as llama_module
from llama_cpp import Llama

extra = sys.argv[2] == "1"
default_params = llama_module.llama_cpp.llama_model_default_params


def params():
    chosen = default_params()
    chosen.use_extra_bufts = extra
    return chosen


llama_module.llama_cpp.llama_model_default_params = params
start = time.time()
model = Llama(sys.argv[1], n_ctx=4096, n_batch=512, n_threads=2, n_threads_batch=2, seed=0, verbose=False)
load = time.time() - start
article = next((Path(__file__).resolve().parent.parent / "corpus").glob("*.md")).read_text(encoding="utf-8")
tokens = model.tokenize(article.encode())[:1500]
start = time.time()
model.eval(tokens)
reading = time.time() - start
start = time.time()
for _ in range(32):
    model.eval([model.sample(temp=0.0)])
decoding = time.time() - start
print(json.dumps({"library": llama_module.__file__, "extra_buffers": extra, "load_s": round(load, 2),
                  "reading_tokens_s": round(len(tokens) / reading, 1), "decoding_tokens_s": round(32 / decoding, 1)}))

#!/bin/sh
# Serve the bundled model (or LLM_MODEL_FILE) with the llama-server that `make llama-server` built:
# PARALLEL slots with continuous batching, a context of PARALLEL × SLOT_CTX (each slot gets SLOT_CTX),
# /metrics, and the API key LLM_API_KEY (required; passed in llama-server's LLAMA_API_KEY, so `ps` does not show it).
# The app then uses it with RAG_LLM_URL=http://HOST:PORT/v1 RAG_LLM_API_KEY=<the key>, and answers up to
# PARALLEL questions at once (it reads the slots from /props). `make serve-llama` runs this.
set -eu
cd "$(dirname "$0")/.."
BIN=build/llama-server/bin/llama-server
PARALLEL=${PARALLEL:-4}
SLOT_CTX=${SLOT_CTX:-4096}
HOST=${LLM_HOST:-127.0.0.1}
PORT=${LLM_PORT:-8080}
[ -x "$BIN" ] || { echo "serve_llama.sh: $BIN is missing; build it with: make llama-server" >&2; exit 1; }
[ -n "${LLM_API_KEY:-}" ] || { echo "serve_llama.sh: set LLM_API_KEY to the key clients must send (the app's RAG_LLM_API_KEY)." >&2; exit 1; }
MODEL=${LLM_MODEL_FILE:-$(.venv/bin/python -m rag prepare-model)}
THREADS=${LLM_THREADS:-$(nproc)}
export LLAMA_API_KEY="$LLM_API_KEY"
exec "$BIN" --model "$MODEL" --alias "${LLM_ALIAS:-$(basename "$MODEL" .gguf)}" --host "$HOST" --port "$PORT" \
  --parallel "$PARALLEL" --cont-batching --ctx-size $((PARALLEL * SLOT_CTX)) --no-kv-unified \
  --threads "$THREADS" --threads-batch "$THREADS" --seed 0 --metrics --no-webui

# Two entry points for a fresh clone: `make run` (set up, then chat) and `make test` (set up, then test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

LLAMA_SERVER := build/llama-server/bin/llama-server

.PHONY: setup model run ingest test chromium soak soak-server soak-backends llama-server serve-llama clean

setup: $(VENV)/.installed model

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

model: $(VENV)/.installed
	$(BIN)/python -m rag prepare-model

run: setup
	$(BIN)/python app.py

ingest: setup
	$(BIN)/python -m rag ingest

# Browser tests drive Debian's chromium, found on PATH as `chromium` (the tests look it up the same way);
# install it when missing (needs root or sudo), and fail when it is still not there.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { echo "make chromium: chromium is still not on PATH" >&2; exit 1; }

# llama.cpp's own server, built once from the llama.cpp inside the pinned llama-cpp-python sdist (pip serves the
# sdist; nothing else is downloaded): 26 CPU-minutes (34 min on the shared 2-core dev machine), once, then reused.
llama-server: $(LLAMA_SERVER)

$(LLAMA_SERVER): | $(VENV)/.installed
	nice -n 10 scripts/build_llama_server.sh

# Serve the bundled model for a team: PARALLEL slots (default 4) of SLOT_CTX tokens each (default 4096), continuous
# batching, /metrics, on LLM_HOST:LLM_PORT (default 127.0.0.1:8080), behind the key LLM_API_KEY (required).
serve-llama: $(LLAMA_SERVER) model
	scripts/serve_llama.sh

test: setup $(VENV)/.installed-dev chromium $(LLAMA_SERVER)
	scripts/offline.sh $(BIN)/python -m pytest

# Eight concurrent chat sessions for SOAK_MINUTES (default 5) on the real app, offline; exits 1 on an error, cross-talk
# or a leak, and says whether memory levels off (`make soak SOAK_MINUTES=120` for the two-hour run).
SOAK_MINUTES ?= 5
soak: setup $(VENV)/.installed-dev
	scripts/offline.sh $(BIN)/python scripts/soak.py --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

# The same load with the model behind llama_cpp.server on loopback (RAG_LLM_URL), started and stopped by the script.
soak-server: setup $(VENV)/.installed-dev
	scripts/offline.sh $(BIN)/python scripts/soak.py --llm-server

# The same load against each model set-up in turn, side by side: in-process, llama_cpp.server, llama-server with 1 and 4 slots.
soak-backends: setup $(VENV)/.installed-dev $(LLAMA_SERVER)
	scripts/offline.sh $(BIN)/python scripts/soak.py --backends in-process,llama_cpp.server,llama-server:1,llama-server:4 $(SOAK_ARGS)

clean:
	rm -rf .rag $(VENV)

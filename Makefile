# Two entry points for a fresh clone: `make run` (set up, then chat) and `make test` (set up, then test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

LLAMA_SERVER := build/llama-server/bin/llama-server

.PHONY: setup model run ingest test check chromium soak soak-server soak-backends llama-server serve-llama clean clean-cache

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

# llama.cpp's own server, built from the llama.cpp inside the pinned llama-cpp-python sdist (pip serves the sdist;
# nothing else is downloaded): about 12 CPU-minutes, once per machine. The binary is kept in a per-user cache
# (~/.cache/ask-the-articles/llama-server/<key>/, the key covering the sdist, the flags, the compilers and the CPU),
# checked (sha256, --version) and copied into build/; a second clone compiles nothing.
llama-server: $(LLAMA_SERVER)

$(LLAMA_SERVER): requirements.txt scripts/build_llama_server.sh | $(VENV)/.installed
	nice -n 10 scripts/build_llama_server.sh

# Serve the bundled model for a team: PARALLEL slots (default 4) of SLOT_CTX tokens each (default 4096), continuous
# batching, /metrics, on LLM_HOST:LLM_PORT (default 127.0.0.1:8080), behind the key LLM_API_KEY (required).
serve-llama: $(LLAMA_SERVER) model
	scripts/serve_llama.sh

# Two workers, each taking whole test files (their shared app, browser and servers stay one per file): 15.5 min
# against 26.6 min in one process on the 2-core dev machine (docs/development.md).
test: setup $(VENV)/.installed-dev chromium $(LLAMA_SERVER)
	scripts/offline.sh $(BIN)/python -m pytest -n 2 --dist loadfile

# The fast tier for the inner loop: unit and pure-logic tests (no model, no server, no browser), offline, in
# under 2 minutes. `make test` runs these too, with everything else; CI runs `make test`.
check: $(VENV)/.installed-dev
	scripts/offline.sh $(BIN)/python -m pytest -m "not slow" -q

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
	rm -rf .rag $(VENV) build

# The per-user build cache shared by every clone on this machine (the llama-server binary and its sdist).
clean-cache:
	rm -rf "$${RAG_BUILD_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/ask-the-articles}"


#!/bin/sh
# llama.cpp's own `llama-server`, built once per machine and kept in a per-user cache, then copied into this
# clone as build/llama-server/bin/llama-server (git ignores build/). `make llama-server` runs this.
#
# The binary is built from the llama.cpp vendored in the pinned llama-cpp-python sdist, so the server runs the
# same llama.cpp as the in-process model. Nothing but that sdist is fetched (pip serves it from its cache or the
# registry, once: it is kept in the cache too). The browser UI of llama-server is off (its assets are not in the
# sdist). CPU flags as the Python build: GGML_NATIVE on, AMX off (this llama.cpp's AMX path faults on CPUs that
# report AMX: rag/cpu.py).
#
# The cache key covers everything that changes the binary: the llama-cpp-python version and its sdist's sha256,
# the build flags, the compilers' versions, the machine and its CPU features (GGML_NATIVE builds for this CPU).
# A cached binary is reused only when its sha256 matches the one recorded beside it and `--version` runs;
# otherwise it is rebuilt. Two clones building at once take turns (flock); the second finds the first's binary.
#
# Where: $RAG_BUILD_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/ask-the-articles; `make clean-cache` empties it.
# LLAMA_SERVER_REBUILD=1 builds anew even when a good binary is cached.
set -eu
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/^llama-cpp-python[^=]*==\([0-9.]*\).*/\1/p' requirements.txt)
[ -n "$VERSION" ] || { echo "build_llama_server.sh: no llama-cpp-python pin in requirements.txt" >&2; exit 1; }
CACHE=${RAG_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ask-the-articles}
OUT=build/llama-server/bin/llama-server
PIP=${PIP:-.venv/bin/pip}
[ -x "$PIP" ] || PIP="python3 -m pip"
JOBS=${JOBS:-$(nproc)}
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
CMAKE_FLAGS="-G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF"

mkdir -p "$CACHE/sdist" "$CACHE/llama-server"
SDIST="$CACHE/sdist/llama_cpp_python-$VERSION.tar.gz"
if [ ! -s "$SDIST" ]; then
  tmp=$(mktemp -d "$CACHE/sdist/download.XXXXXX")
  $PIP download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$tmp"
  mv "$tmp/llama_cpp_python-$VERSION.tar.gz" "$SDIST"
  rm -rf "$tmp"
fi

sha() { sha256sum | cut -c1-64; }
cpu_features() {  # the CPU flags GGML_NATIVE compiles for (one line, sorted), and the machine
  uname -m
  sed -n 's/^flags[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1 | tr ' ' '\n' | sort | tr '\n' ' '
}
INPUTS=$(printf 'llama-cpp-python %s\nsdist %s\nflags %s %s\ncc %s\nc++ %s\ncmake %s\ncpu %s\n' \
  "$VERSION" "$(sha < "$SDIST")" "$(echo $CMAKE_FLAGS)" "$NO_AMX" "$(cc --version 2>/dev/null | head -n 1)" \
  "$(c++ --version 2>/dev/null | head -n 1)" "$(cmake --version 2>/dev/null | head -n 1)" "$(cpu_features)")
KEY=$(printf '%s' "$INPUTS" | sha | cut -c1-16)
DIR="$CACHE/llama-server/$KEY"

good() {  # the cached binary is whole (its recorded sha256) and runs
  [ -x "$DIR/llama-server" ] && [ -s "$DIR/llama-server.sha256" ] &&
    [ "$(sha < "$DIR/llama-server")" = "$(cat "$DIR/llama-server.sha256")" ] &&
    "$DIR/llama-server" --version >/dev/null 2>&1
}

build() {  # compile into a scratch folder of the cache; the finished binary is moved into $DIR whole
  work=$(mktemp -d "$CACHE/llama-server/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "build_llama_server.sh: building llama-server $VERSION for this machine (once; about 12 CPU-minutes, more on a busy machine)…" >&2
  tar -xzf "$SDIST" -C "$work"
  src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"
  # shellcheck disable=SC2086  # CMAKE_FLAGS is a list of words
  { cmake -S "$src" -B "$work/cmake" $CMAKE_FLAGS -DCMAKE_C_FLAGS="$NO_AMX" -DCMAKE_CXX_FLAGS="$NO_AMX" \
      && cmake --build "$work/cmake" --target llama-server -j "$JOBS"; } >"$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log" >&2; cp "$work/build.log" "$CACHE/llama-server/last-failed-build.log";
         echo "build_llama_server.sh: the build failed; the log is $CACHE/llama-server/last-failed-build.log" >&2; exit 1; }
  rm -rf "$DIR"
  mkdir -p "$work/out"
  cp "$work/cmake/bin/llama-server" "$work/out/llama-server"
  sha < "$work/out/llama-server" > "$work/out/llama-server.sha256"
  printf '%s\n' "$INPUTS" > "$work/out/inputs.txt"
  cp "$work/build.log" "$work/out/build.log"
  mv "$work/out" "$DIR"
}

exec 9>"$CACHE/llama-server/$KEY.lock"
flock 9  # another clone building the same key: wait for it, then reuse its binary
if [ "${LLAMA_SERVER_REBUILD:-0}" = 1 ] || ! good; then
  [ -e "$DIR" ] && [ "${LLAMA_SERVER_REBUILD:-0}" != 1 ] && echo "build_llama_server.sh: the cached binary in $DIR is missing or broken; rebuilding" >&2
  build
  good || { echo "build_llama_server.sh: the built binary in $DIR does not run" >&2; exit 1; }
else
  echo "build_llama_server.sh: reusing the cached llama-server ($DIR)" >&2
fi
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
ln "$DIR/llama-server" "$OUT" 2>/dev/null || cp "$DIR/llama-server" "$OUT"
"$OUT" --version 2>&1 | head -n 2

#!/bin/sh
# Build llama.cpp's own `llama-server` from the llama.cpp vendored in the pinned llama-cpp-python sdist,
# so the server runs the same llama.cpp as the in-process model. Nothing but that sdist is fetched (pip
# serves it from its cache or the registry); the browser UI of llama-server is off (its assets are not in
# the sdist, and the prebuilt ones would be a download). CPU flags as the Python build (Makefile): GGML_NATIVE on,
# AMX off (this llama.cpp's AMX path faults on CPUs that report AMX: rag/cpu.py).
# Output: build/llama-server/bin/llama-server, one static binary (git ignores build/).
set -eu
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/^llama-cpp-python[^=]*==\([0-9.]*\).*/\1/p' requirements.txt)
[ -n "$VERSION" ] || { echo "build_llama_server.sh: no llama-cpp-python pin in requirements.txt" >&2; exit 1; }
OUT=build/llama-server
SRC=build/sdist/llama_cpp_python-$VERSION
PIP=${PIP:-.venv/bin/pip}
[ -x "$PIP" ] || PIP="python3 -m pip"
JOBS=${JOBS:-$(nproc)}
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
mkdir -p build

if [ ! -d "$SRC/vendor/llama.cpp/tools/server" ]; then
  mkdir -p build/sdist
  $PIP download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d build/sdist
  tar -xzf "build/sdist/llama_cpp_python-$VERSION.tar.gz" -C build/sdist
fi

cmake -S "$SRC/vendor/llama.cpp" -B "$OUT/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON \
  -DCMAKE_C_FLAGS="$NO_AMX" -DCMAKE_CXX_FLAGS="$NO_AMX" \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF >"$OUT.log" 2>&1 \
  && cmake --build "$OUT/cmake" --target llama-server -j "$JOBS" >>"$OUT.log" 2>&1 \
  || { tail -n 30 "$OUT.log" >&2; echo "build_llama_server.sh: the build failed; the log is $OUT.log" >&2; exit 1; }
mkdir -p "$OUT/bin"
cp "$OUT/cmake/bin/llama-server" "$OUT/bin/llama-server"
"$OUT/bin/llama-server" --version 2>&1 | head -2

"""What this machine lets llama.cpp run: its AMX kernels only where they survive a real decode here.

A llama.cpp built on a machine whose CPU reports Intel AMX (pip builds with ``-march=native``) runs its
quantised matrix products on AMX tiles, in llama.cpp's "extra" weight buffers. The pinned build's AMX path
loads a tile layout the CPU rejects (``ldtilecfg`` faults: its compiled code keeps only the first half of the
layout), so on such a CPU every answer killed the process with a segmentation fault (seen on 2026-12-02 on
this project's 2-core machines, whose CPUs report AMX; a clean-clone CI run died the same way).

So where the llama.cpp build has AMX kernels and the CPU reports AMX, a child process loads the model and
decodes a few tokens first (about 4 s, once: the verdict is kept beside the model, keyed by the llama.cpp
library and the CPU). If the child dies, the model loads without the extra buffers (``use_extra_bufts =
false``, as ``llama-server --no-repack``), and it answers. Everywhere else nothing changes and no child runs.
Without them this machine was no slower (2026-12-02, 2 cores reporting AVX-512 and AMX, 1,500-token prompt:
97-109 tokens/s reading and 12.4-13.1 decoding, against 72-75 and 11.2-11.4 for a build without AMX with
its repacked weights; docs/performance.md), so pip's native build is kept and this rule makes it safe.

``python -m rag.cpu MODULE ARGS…`` runs a Python module (``llama_cpp.server``) with the same rule.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import runpy
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)
_LOAD_LOCK = threading.Lock()
VERDICTS = "amx-verdicts.json"  # beside the model: {key of (library, CPU, model): true when AMX decoding works}
# The child: the real library on the real model, a batch of tokens through the matrix kernels. Exit 0: it works.
PROBE = (
    "import sys\n"
    "from llama_cpp import Llama\n"
    "model = Llama(sys.argv[1], n_ctx=128, n_batch=64, n_threads=1, verbose=False)\n"
    "model.eval(model.tokenize(b'A short check of the matrix kernels, long enough to fill a batch of tokens.'))\n"
)


def reports_amx(cpuinfo: str) -> bool:
    """True when /proc/cpuinfo's flags name AMX tiles with int8 products.

    ``reports_amx('flags : fpu avx2 amx_tile amx_int8') -> True``; ``reports_amx('flags : fpu avx2') -> False``
    """
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags |= set(line.partition(":")[2].split())
    return {"amx_tile", "amx_int8"} <= flags


def built_with_amx(system_info: str) -> bool:
    """True when llama.cpp's system info says it was built with AMX int8 kernels.

    ``built_with_amx('CPU : AVX2 = 1 | AMX_INT8 = 1 |') -> True``; ``built_with_amx('CPU : AVX2 = 1 |') -> False``
    """
    return "AMX_INT8 = 1" in system_info


def verdict_key(library: Path, cpuinfo: str, model: Path) -> str:
    """What the verdict depends on: the llama.cpp library file, the CPU's name and flags, the model file.

    ``len(verdict_key(Path('/nonexistent.so'), 'flags : avx2', Path('m.gguf'))) -> 16``
    """
    def stamp(path: Path) -> str:
        try:
            info = path.stat()
            return f"{path.resolve()}:{info.st_size}:{info.st_mtime_ns}"
        except OSError:
            return str(path)

    cpu = [line for line in cpuinfo.splitlines() if line.startswith(("model name", "flags"))][:2]
    return hashlib.sha256(repr((stamp(library), cpu, stamp(model))).encode()).hexdigest()[:16]


def amx_works(model: Path, timeout: float = 300.0) -> bool:
    """Decode a few tokens of model in a child process: True when it exits cleanly (a fault there hurts nothing)."""
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, str(model)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def remembered(file: Path, key: str, check) -> bool:
    """check()'s verdict, kept in the JSON file under key (a folder that cannot be written only loses the memory)."""
    try:
        verdicts = json.loads(file.read_text())
    except (OSError, ValueError):
        verdicts = {}
    if isinstance(verdicts, dict) and isinstance(verdicts.get(key), bool):
        return verdicts[key]
    verdict = check()
    try:  # written whole, then renamed: a process reading it at the same moment sees the old file or the new one
        part = file.with_name(f"{file.name}.{os.getpid()}.part")
        part.write_text(json.dumps({**(verdicts if isinstance(verdicts, dict) else {}), key: verdict}))
        os.replace(part, file)
    except OSError:
        pass
    return verdict


@functools.lru_cache(maxsize=8)
def extra_buffers_safe(model: Path) -> bool:
    """False only where this llama.cpp has AMX kernels, the CPU reports AMX, and decoding model with them dies."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return True
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode(errors="replace")
        library = Path(llama_cpp.__file__).parent / "lib" / "libggml-cpu.so"
    except (OSError, ImportError, AttributeError):
        return True
    if not (reports_amx(cpuinfo) and built_with_amx(info)):
        return True
    if remembered(Path(model).parent / VERDICTS, verdict_key(library, cpuinfo, Path(model)), lambda: amx_works(model)):
        return True
    log.warning("llama.cpp's AMX kernels fault on this CPU: the model loads without llama.cpp's extra weight "
                "buffers (as llama-server --no-repack); this check is kept in %s.", Path(model).parent / VERDICTS)
    return False


@contextmanager
def safe_model_params(model: Path) -> Iterator[None]:
    """While open, llama_cpp.Llama() loads without the extra buffers where extra_buffers_safe(model) is False.

    llama_cpp.Llama takes no use_extra_bufts argument; it starts from llama_model_default_params(), so that
    function is wrapped for the load (under a lock: loads are rare and short).
    """
    if extra_buffers_safe(Path(model)):
        yield
        return
    import llama_cpp.llama as llama_module

    bindings = llama_module.llama_cpp
    with _LOAD_LOCK:
        original = bindings.llama_model_default_params

        def without_extra_buffers():
            params = original()
            params.use_extra_bufts = False
            return params

        bindings.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            bindings.llama_model_default_params = original


def model_argument(argv: list[str]) -> str:
    """The value of --model in a command line: ``model_argument(['m', '--model', 'a.gguf']) -> 'a.gguf'``; '' if none."""
    for i, arg in enumerate(argv):
        if arg == "--model" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--model="):
            return arg.partition("=")[2]
    return ""


def run_module(argv: list[str]) -> None:
    """``run_module(['llama_cpp.server', '--model', 'm.gguf'])``: run that module as ``python -m`` would, the model
    named by --model loaded under safe_model_params()."""
    if not argv or not model_argument(argv):
        raise SystemExit("usage: python -m rag.cpu MODULE --model M.gguf [ARGS…]   e.g. python -m rag.cpu llama_cpp.server --model M")
    sys.argv = argv
    with safe_model_params(Path(model_argument(argv))):
        runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    run_module(sys.argv[1:])

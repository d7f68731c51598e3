"""llama.cpp's AMX kernels only where they survive a decode (rag/cpu.py): the rules, the kept verdict, the load."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import cpu

CPUINFO_AMX = "processor : 0\nmodel name : Intel(R) Xeon(R)\nflags : fpu avx2 avx512f amx_bf16 amx_tile amx_int8\n"
CPUINFO_PLAIN = "processor : 0\nmodel name : AMD Ryzen\nflags : fpu avx2 fma\n"


def test_amx_is_read_from_the_cpu_flags_and_the_build():
    assert cpu.reports_amx(CPUINFO_AMX) and not cpu.reports_amx(CPUINFO_PLAIN)
    assert not cpu.reports_amx("flags : amx_tile\n")  # tiles without int8 products: no kernel of llama.cpp's
    assert cpu.built_with_amx("CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |")
    assert not cpu.built_with_amx("CPU : AVX2 = 1 | AVX512 = 1 | REPACK = 1 |")


def test_the_verdict_key_changes_with_the_library_the_cpu_and_the_model(tmp_path):
    library, model = tmp_path / "libggml-cpu.so", tmp_path / "m.gguf"
    library.write_bytes(b"one")
    model.write_bytes(b"gguf")
    first = cpu.verdict_key(library, CPUINFO_AMX, model)
    assert first == cpu.verdict_key(library, CPUINFO_AMX, model)
    assert first != cpu.verdict_key(library, CPUINFO_PLAIN, model)
    library.write_bytes(b"a rebuilt library")
    assert first != cpu.verdict_key(library, CPUINFO_AMX, model)


def test_a_verdict_is_checked_once_and_kept(tmp_path):
    calls = []
    file = tmp_path / cpu.VERDICTS
    assert cpu.remembered(file, "k1", lambda: calls.append(1) or False) is False
    assert cpu.remembered(file, "k1", lambda: calls.append(1) or True) is False  # kept: not checked again
    assert cpu.remembered(file, "k2", lambda: calls.append(1) or True) is True
    assert len(calls) == 2 and json.loads(file.read_text()) == {"k1": False, "k2": True}
    file.write_text("{not json")  # a damaged file is checked again, then rewritten
    assert cpu.remembered(file, "k1", lambda: True) is True and json.loads(file.read_text()) == {"k1": True}
    assert cpu.remembered(tmp_path / "missing" / cpu.VERDICTS, "k", lambda: True) is True  # unwritable: no memory


def test_the_check_runs_the_real_library_in_a_child_and_a_failure_is_false(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    assert cpu.amx_works(broken) is False  # the child fails to load it; this process is untouched


def test_model_argument():
    assert cpu.model_argument(["llama_cpp.server", "--model", "a.gguf", "--port", "1"]) == "a.gguf"
    assert cpu.model_argument(["llama_cpp.server", "--model=b.gguf"]) == "b.gguf"
    assert cpu.model_argument(["llama_cpp.server", "--port", "1"]) == ""
    with pytest.raises(SystemExit, match="usage"):
        cpu.run_module(["llama_cpp.server"])


def test_unsafe_loads_get_no_extra_buffers_and_the_default_comes_back(monkeypatch, tmp_path):
    """On the real bindings: inside the guard llama.cpp's default model parameters have use_extra_bufts off."""
    import llama_cpp.llama as llama_module

    bindings = llama_module.llama_cpp
    model = tmp_path / "m.gguf"
    monkeypatch.setattr(cpu, "extra_buffers_safe", lambda path: False)
    assert bindings.llama_model_default_params().use_extra_bufts is True
    with cpu.safe_model_params(model):
        assert bindings.llama_model_default_params().use_extra_bufts is False
    assert bindings.llama_model_default_params().use_extra_bufts is True
    monkeypatch.setattr(cpu, "extra_buffers_safe", lambda path: True)
    with cpu.safe_model_params(model):
        assert bindings.llama_model_default_params().use_extra_bufts is True


def test_this_machine_decodes_with_the_rule(model_path):
    """The rule's verdict on this machine's CPU and llama.cpp build, then a real decode under it, in this process."""
    from llama_cpp import Llama

    safe = cpu.extra_buffers_safe(Path(model_path))
    with cpu.safe_model_params(Path(model_path)):
        llm = Llama(model_path=str(model_path), n_ctx=256, n_batch=64, n_threads=2, verbose=False)
    text = llm.create_completion("The capital of France is", max_tokens=4, temperature=0.0)["choices"][0]["text"]
    assert "Paris" in text, (safe, text)

"""Benchmark orchestration: each stage in a fresh process, in one run, with the machine's state beside it.

``run_bench`` runs the requested stages of stages.py, each as ``python -m rag bench --stage NAME`` so its
peak memory is its own; report.py renders the table; the command line is ``rag bench`` (rag/cli.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from typing import Optional

from ..settings import PROJECT_DIR, Settings, expand_grid, parse_grid
from .stages import loadavg

def run_stage(name: str, params: dict, progress=None) -> dict:
    """One stage in a fresh ``python -m rag bench --stage`` process; its JSON, or an error entry."""
    (progress or (lambda message: None))(f"bench: {name} (load {loadavg()})…")
    handle, out = tempfile.mkstemp(suffix=".json")
    os.close(handle)
    started, load = time.perf_counter(), loadavg()
    proc = subprocess.run([sys.executable, "-m", "rag", "bench", "--stage", name, "--stage-params", json.dumps(params),
                           "--stage-out", out], cwd=PROJECT_DIR, capture_output=True, text=True)
    data = json.loads(Path(out).read_text() or "{}") if proc.returncode == 0 else {
        "error": f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}"}
    Path(out).unlink(missing_ok=True)
    return {**data, "stage_s": round(time.perf_counter() - started, 1), "load_start": load, "load_end": loadavg()}


def run_bench(options: dict, progress=None) -> dict:
    """All requested stages; ``options`` as built by cmd_bench (see FULL and QUICK)."""
    import shutil

    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    gen_home, rgb_home = str(work / "chat"), str(work / "rgb")
    rgb_corpus = Path(options["rgb"]) / "corpus"
    has_rgb = rgb_corpus.is_dir()
    common = {"settings": options["settings"], "corpus": options["corpus"]}
    stages = {}
    try:
        if "generation" in options["stages"]:
            for combo in options.get("compare") or [{}]:  # a fresh process each, in one run: before/after on one machine state
                name = " ".join(["generation", *(f"{k}={v}" for k, v in combo.items())])
                settings = {**options["settings"], **combo}
                stages[name] = run_stage("generation", {**common, "settings": settings, "home": f"{gen_home}-{len(stages)}",
                                                        "testset": options["testset"], "limit": options["limit"],
                                                        "pairs": options["pairs"],
                                                        "conversations": options.get("conversations", 8)}, progress)
            gen_home = f"{gen_home}-{len(stages) - 1}"  # start-up reuses the last run's index and saved prompt state
        if "startup" in options["stages"]:
            stages["startup"] = run_stage("startup", {**common, "home": gen_home,
                                                     "question": first_question(options["testset"])}, progress)
        corpus = str(rgb_corpus if has_rgb else options["corpus"])
        if "ingest" in options["stages"]:
            stages["ingest"] = run_stage("ingest", {"home": rgb_home, "corpus": corpus, "docs": options["docs"]}, progress)
        if "retrieval" in options["stages"]:
            queries = Path(options["rgb"]) / "dev.jsonl" if has_rgb else Path(options["testset"])
            stages["retrieval"] = run_stage("retrieval", {"home": rgb_home, "corpus": corpus, "sizes": options["sizes"],
                                                         "queries": options["queries"], "queries_file": str(queries),
                                                         "real_chunks": (stages.get("ingest") or {}).get("chunks")},
                                            progress)
    finally:
        if not options.get("keep"):
            shutil.rmtree(work, ignore_errors=True)
    return {"machine": machine(), "options": {k: v for k, v in options.items() if k != "stages"},
            "stages_run": list(options["stages"]), "stages": stages}


def first_question(testset: str) -> str:
    return json.loads(Path(testset).read_text(encoding="utf-8").splitlines()[0])["question"]


def machine() -> dict:
    import platform

    try:
        import llama_cpp
        version = llama_cpp.__version__
    except ImportError:
        version = None
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor(),
            "python": platform.python_version(), "llama_cpp_python": version, "load": loadavg()}


def bench_combos(specs: Optional[list[str]]) -> Optional[list[dict]]:
    """Settings of each compared generation run: every combination of the ``--compare`` grid, validated now.

    ``bench_combos(['n_threads=2,1']) -> [{'n_threads': '2'}, {'n_threads': '1'}]``
    """
    if not specs:
        return None
    combos = expand_grid(parse_grid(specs, Settings.model_fields))
    for combo in combos:
        Settings.load(**combo)  # a bad value fails now, not after the first run
    return combos


def with_remote(combos: Optional[list[dict]], url: Optional[str]) -> Optional[list[dict]]:
    """Each combination in-process, then through the model server at url (validated now).

    ``with_remote([{'top_k': '2'}], 'http://h:8080/v1') -> [{'top_k': '2'}, {'top_k': '2', 'llm_url': 'http://h:8080/v1'}]``
    """
    if not url:
        return combos
    Settings.load(llm_url=url)
    return [{**combo, **extra} for extra in ({}, {"llm_url": url}) for combo in (combos or [{}])]

"""Local, offline question answering over a folder of articles, with checked citations."""
import os

# No telemetry or phone-home from any library, whoever imports us first.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# llama.cpp's and PyTorch's OpenMP threads spin while they wait for each other, so on a CPU that is busy
# elsewhere every step stalls (2 threads beside two busy processes: 37 prompt tokens/s spinning, 50
# sleeping; idle: 104 vs 106; docs/performance.md). Read when those libraries load, so set it here, first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["Answer", "Assistant", "RagError", "Settings"]
HOMES = {"Answer": "pipeline", "Assistant": "pipeline", "RagError": "errors", "Settings": "settings"}


def __getattr__(name: str):
    """The entry points, imported when first used: the worker that reads files (sandbox.py) loads no model code."""
    if name not in HOMES:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{HOMES[name]}", __name__), name)

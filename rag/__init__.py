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

from .errors import RagError  # noqa: E402
from .pipeline import Answer, Assistant  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["Answer", "Assistant", "RagError", "Settings"]

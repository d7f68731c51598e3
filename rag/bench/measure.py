"""What every benchmark figure is recorded with: the load average, peak memory, percentiles.

Shared by the stages (stages.py, retrieval_stage.py) and scripts/compare_embedders.py.
"""
from __future__ import annotations

import resource
import sys
from pathlib import Path
from typing import Optional


def loadavg() -> str:
    """The 1-minute load average, as recorded next to every number."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


def pct(values, q: float) -> Optional[float]:
    from ..evaluation.metrics import percentile

    got = percentile([v for v in values if v is not None], q)
    return None if got is None else round(got, 1)

"""The Evaluation tab's handler: run a test set on the loaded assistant, showing progress, then the report."""
from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Optional

from ..errors import RagError
from ..evaluation.run import run_evaluation
from ..evaluation.testset import DEFAULT_TESTSET
from ..pipeline import Assistant
from . import presentation as view
from . import tabs
from .chat import GENERIC_ERROR, log


class Scoring:
    """Runs evaluations for the page and the /evaluate endpoint."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def evaluate(self, testset: Optional[str], limit):
        """Run the bundled (or an uploaded .jsonl) test set on this index; yields (report Markdown, chart image).

        While it runs, the report pane shows each step ("Question 1/2: …") as a plain output update, which
        gradio_client receives too; then the report and its chart. The run is in a worker thread whose
        progress messages are passed on until it is done (None marks the end).
        Outputs go to <home>/eval/<timestamp>/ (report.md, results.json, chart.png); limit 0 or empty = all.
        """
        updates: queue.SimpleQueue = queue.SimpleQueue()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluation") as worker:
            run = worker.submit(self.evaluation_report, testset, limit, lambda fraction, message: updates.put(message))
            run.add_done_callback(lambda _: updates.put(None))
            for message in iter(updates.get, None):
                yield view.progress_markdown(message), None
            yield run.result()

    def evaluation_report(self, testset: Optional[str], limit, progress) -> tuple[str, object]:
        """(report Markdown, chart image) of one evaluation run, or (readable error, None)."""
        path = Path(testset) if testset else DEFAULT_TESTSET
        out_dir = self.assistant.settings.home / "eval" / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        try:
            report = run_evaluation(self.assistant, path, limit=int(limit or 0) or None, out_dir=out_dir,
                                    progress=progress)
        except RagError as exc:
            return view.error_markdown(str(exc)), None
        except Exception:
            log.exception("Evaluating %s failed", path)
            return view.error_markdown(GENERIC_ERROR), None
        folder = out_dir.relative_to(self.assistant.settings.home).as_posix()  # the page names no server folder
        return tabs.evaluation_markdown(report.markdown, folder), load_image(report.chart_path)


def load_image(path: Optional[Path]):
    """The chart as an image object: Gradio serves it from its own cache wherever the data folder is."""
    from PIL import Image

    if not path:
        return None
    with Image.open(path) as image:
        return image.copy()

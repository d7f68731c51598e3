"""Test sets: JSON Lines of questions with their reference answer, evidence quotes and keyword groups.

One item a line: ``{"id", "question", "answer", "answerable", "evidence": [quote, …], "keywords": [[alt, …], …]}``,
and for a follow-up ``"history": [earlier question, …]`` (``tests/followups.jsonl``).
A keyword alternative ending in ``*`` matches as a prefix (metrics.keyword_recall).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..errors import RagError
from ..settings import PROJECT_DIR

DEFAULT_TESTSET = PROJECT_DIR / "tests" / "testset.jsonl"
SEED_QUESTION = "Why did OpenAI release gpt-oss?"  # the first question about the bundled article
REQUIRED_KEYS = {"id": str, "question": str, "answer": str, "answerable": bool, "evidence": list}


def load_testset(path: Path, limit: Optional[int] = None) -> list[dict]:
    """The first ``limit`` items of a JSON Lines test set, checked; ``keywords`` defaults to [].

    Raises:
        RagError: the file is missing or a line is not a valid item (the message names the line).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RagError(f"Cannot read the test set {path} ({exc.strerror or exc}).") from None
    items = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            items.append(parse_item(line, f"{path}, line {number}"))
    if not items:
        raise RagError(f"The test set {path} holds no questions.")
    return items[:limit] if limit else items


def parse_item(line: str, where: str) -> dict:
    """One test-set line as a dict, or a RagError saying what is wrong with it."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RagError(f"{where}: not valid JSON ({exc.msg}).") from None
    if not isinstance(item, dict):
        raise RagError(f"{where}: expected a JSON object.")
    for key, kind in REQUIRED_KEYS.items():
        if not isinstance(item.get(key), kind):
            raise RagError(f"{where}: '{key}' is missing or not a {kind.__name__}.")
    item.setdefault("keywords", [])
    if not isinstance(item.setdefault("history", []), list) or not all(isinstance(q, str) and q.strip() for q in item["history"]):
        raise RagError(f"{where}: 'history' must be a list of the earlier questions.")
    groups_ok = isinstance(item["keywords"], list) and all(
        isinstance(g, list) and g and all(isinstance(k, str) and k.strip() for k in g) for g in item["keywords"])
    if not groups_ok or not all(isinstance(e, str) and e.strip() for e in item["evidence"]):
        raise RagError(f"{where}: 'evidence' must be a list of quotes and 'keywords' a list of lists of strings.")
    return item


def earlier_turns(item: dict) -> list[tuple[str, str]]:
    """A follow-up's conversation as the answer path takes it: the test set gives the earlier questions, not their
    answers. ``earlier_turns({'history': ['Who is Sam Altman?']}) -> [('Who is Sam Altman?', '')]``"""
    return [(asked, "") for asked in item.get("history", [])]

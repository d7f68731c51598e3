"""Chat front ends' background tasks, answered without retrieval or the model.

Open WebUI (and others that copied its templates) sends a chat's title, tags and follow-up suggestions as
ordinary chat completions whose single user message opens with ``### Task:`` and asks for one JSON
object (``JSON format: { "title": … }``). Answered by the assistant, each one costs a model call on the
one shared model, and comes back as a refusal or a cited answer. Here they are answered at once: the
title from the chat's first question, the tags ``["General"]`` (the template's own fallback), and no
follow-ups (its "return an empty list"); any other task gets its JSON key with an empty list.
"""
from __future__ import annotations

import json
import re
from typing import Optional

from .conversations import title_of

TASK = re.compile(r"^\s*#{2,4}\s*Task:", re.IGNORECASE)
OUTPUT_KEY = re.compile(r"JSON format:\s*\{\s*\"(\w+)\"", re.IGNORECASE)
FIRST_USER = re.compile(r"<chat_history>\s*(?:USER|user):\s*(.*?)(?:\n(?:ASSISTANT|assistant):|</chat_history>|$)",
                        re.DOTALL)
TITLE_WORDS = 6


def is_task(question: str) -> bool:
    """``is_task('### Task:\\nGenerate a title') -> True``; ``is_task('What is a ### Task:?') -> False``."""
    return bool(TASK.match(question or ""))


def short_title(question: str) -> str:
    """A chat title from its first question: its first six words, no final mark.

    ``short_title('Why did OpenAI release gpt-oss this August?') -> 'Why did OpenAI release gpt-oss this'``
    """
    words = title_of(question).split()
    return " ".join(words[:TITLE_WORDS]).rstrip("?.!,;:") or "New chat"


def task_reply(question: str) -> Optional[str]:
    """The JSON a front end's task request asks for, or None when the message is not one.

    ``task_reply('### Task:\\nGenerate a title…\\nJSON format: { "title": "…" }\\n<chat_history>\\nUSER: Who is Sam
    Altman?\\nASSISTANT: …</chat_history>') -> '{"title": "Who is Sam Altman"}'``;
    ``task_reply('### Task:\\nGenerate tags…JSON format: { "tags": ["tag1"] }') -> '{"tags": ["General"]}'``
    """
    if not is_task(question):
        return None
    found = OUTPUT_KEY.search(question)
    key = found.group(1).lower() if found else ""
    if key == "title":
        first = FIRST_USER.search(question)
        return json.dumps({"title": short_title(first.group(1) if first else "")}, ensure_ascii=False)
    if key == "tags":
        return json.dumps({"tags": ["General"]})
    return json.dumps({key or "result": []})

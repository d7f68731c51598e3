"""Chat front ends' background tasks (rag/web/tasks.py): recognised and answered without retrieval or the model.

The requests are Open WebUI's default title, tags and follow-up templates as it sends them
(tests/data/openwebui_tasks.json); the same requests against the real app are in tests/test_openai_api.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.web.openai_api import parse_request
from rag.web.tasks import is_task, short_title, task_reply

RECORDED = json.loads((Path(__file__).parent / "data" / "openwebui_tasks.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("task", sorted(RECORDED["requests"]))
def test_each_open_webui_task_gets_the_json_it_asks_for(task):
    asked = parse_request(RECORDED["requests"][task], 4000)  # longer than a question may be: a task is never asked
    assert len(asked.question) > 4000 and is_task(asked.question)
    assert json.loads(task_reply(asked.question)) == RECORDED["expected"][task]


@pytest.mark.parametrize("question", ["Why did OpenAI release gpt-oss?", "What is a ### Task: line?", "",
                                      "Task: write a poem about DeepSeek"])
def test_a_question_is_not_a_task(question):
    assert not is_task(question) and task_reply(question) is None


def test_an_unknown_task_gets_its_key_with_an_empty_list():
    prompt = '### Task:\nGenerate search queries.\n### Output:\nJSON format: { "queries": ["q1"] }\n<chat_history>\nUSER: Hi\n</chat_history>'
    assert json.loads(task_reply(prompt)) == {"queries": []}
    assert json.loads(task_reply("### Task:\nSay something.")) == {"result": []}


@pytest.mark.parametrize("question, title", [("Why did OpenAI release gpt-oss this August?", "Why did OpenAI release gpt-oss this"),
                                             ("Who?", "Who"), ("", "Untitled conversation")])
def test_short_title(question, title):
    assert short_title(question) == title

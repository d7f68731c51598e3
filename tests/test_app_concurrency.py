"""Nobody waits for another's evaluation or upload: on the real app, a chat from one session is answered while
another session's evaluation run, or an upload, is in progress (rag/web/layout.py's queues, Assistant.slots).

The answer slots themselves (generation.Slots) are tested as pure logic with threads.
"""
from __future__ import annotations

import re
import threading
import time

import pytest

from rag.concurrency import Slots
from tests.app_fixtures import SEED_QUESTION, app_server, model_file  # noqa: F401  (fixtures)

EVAL_QUESTIONS = 4


# -- the slots, pure logic ------------------------------------------------------------------------
def hold(slots: Slots, name: str, order: list, seconds: float) -> threading.Thread:
    def run():
        with slots:
            order.append(name)
            time.sleep(seconds)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_slots_admit_in_arrival_order_and_never_more_than_n():
    slots, order, inside, most = Slots(1), [], [0], [0]
    first = hold(slots, "a", order, 0.3)
    time.sleep(0.05)
    waiting = [hold(slots, name, order, 0.01) for name in "bcd" if not time.sleep(0.05)]
    for thread in (first, *waiting):
        thread.join(5)
    assert order == ["a", "b", "c", "d"]

    slots = Slots(3)
    lock = threading.Lock()

    def count():
        with slots:
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1
    threads = [threading.Thread(target=count) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert most[0] == 3 and inside[0] == 0 and slots.free == 3


def test_a_caller_that_keeps_coming_back_lets_the_one_waiting_go_first():
    """The evaluation's pattern: ask, score, ask again at once; a chat waiting since the first ask goes in between."""
    slots, order = Slots(1), []

    def evaluation():
        for n in range(3):
            with slots:
                order.append(f"eval-{n}")
                time.sleep(0.1)
    runner = threading.Thread(target=evaluation)
    runner.start()
    time.sleep(0.05)
    chat = hold(slots, "chat", order, 0.01)
    runner.join(5), chat.join(5)
    assert order == ["eval-0", "chat", "eval-1", "eval-2"]


def test_slots_are_released_when_an_answer_stream_is_closed_early():
    slots = Slots(1)

    def stream():
        with slots:
            yield "piece"
            yield "more"
    events = stream()
    assert next(events) == "piece" and slots.free == 0
    events.close()  # a stopped chat
    assert slots.free == 1


# -- the real app ---------------------------------------------------------------------------------
def client_for(app):
    from gradio_client import Client

    return Client(app.url, verbose=False, download_files=False)


def question_number(outputs: list) -> int:
    """The number N of the latest '⏳ Question N/M' an evaluation job has shown; 0 before the first."""
    numbers = [int(m.group(1)) for out in outputs if isinstance(out, (list, tuple)) and isinstance(out[0], str)
               for m in [re.match(r"⏳ Question (\d+)/", out[0])] if m]
    return max(numbers, default=0)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.2)


def test_a_chat_is_answered_while_another_session_runs_an_evaluation(app_server):  # noqa: F811
    """The chat waits for at most the evaluation question being answered, not for the run."""
    evaluation = client_for(app_server).submit(None, EVAL_QUESTIONS, api_name="/evaluate")
    wait_until(lambda: question_number(evaluation.outputs()) >= 1, 600, "the evaluation's first question")
    asked_during = question_number(evaluation.outputs())
    answer = client_for(app_server).predict(SEED_QUESTION, api_name="/ask")
    reached = question_number(evaluation.outputs())
    assert not evaluation.done(), "the chat waited for the whole evaluation run"
    assert reached <= asked_during + 1 < EVAL_QUESTIONS + 1, (asked_during, reached)
    assert not answer["refused"] and answer["citations"], answer["answer"]
    report, _ = evaluation.result(timeout=900)
    assert f"{EVAL_QUESTIONS} questions" in report and "0 failed" in report, report[:400]

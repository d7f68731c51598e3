"""Eight chat sessions at once on the real app: all answered, one at a time, each seeing only its own conversation.

The short version of ``scripts/soak.py`` (``make soak`` runs the long one): one question per session,
each carrying a token unique to its session, through the session-aware ``/chat`` endpoint.
"""
from __future__ import annotations

import time

from scripts.soak import ChatOptions, Result, at_once, run_load
from tests.app_fixtures import app_server, model_file  # noqa: F401

SESSIONS = 8
BUDGET_S = 180  # eight short answers queued behind one model on a busy 2-core CPU
SHORT = ChatOptions(top_k=1, max_tokens=32, timeout_s=BUDGET_S)


def test_concurrent_sessions_are_queued_and_keep_their_own_history(app_server):
    started = time.monotonic()
    results = run_load(app_server.url, SESSIONS, seconds=60, options=SHORT, turns=1, conversations=1)

    assert len(results) == SESSIONS and {r.session for r in results} == set(range(SESSIONS))
    problems = [f"session {r.session}: {r.error or r.crosstalk}" for r in results if r.error or r.crosstalk]
    assert not problems, "\n".join(problems) + "\n" + app_server.log_tail()  # check_history: own question only
    assert at_once(results) == 1, "two sessions were answered at once; the in-process model has one slot"
    waits = sorted(r.wait_s for r in results)
    assert waits[-1] > waits[0] + 1, f"the sessions should have queued behind each other: waits {waits}"
    assert time.monotonic() - started < BUDGET_S + 30


def test_at_once_counts_the_most_answers_in_progress_together():
    assert at_once([Result(0, "q", 0, 1, 5), Result(1, "q", 0, 3, 9)]) == 2
    assert at_once([Result(0, "q", 0, 1, 5), Result(1, "q", 0, 4.5, 9)]) == 1  # within the clocks' tolerance
    assert at_once([Result(0, "q", 0, 1, 5), Result(1, "q", 0, 2, 3), Result(2, "q", 0, 2.5, 9)]) == 2
    assert at_once([]) == 0


def test_the_soak_says_whether_memory_levels_off():
    from scripts.soak import levelling

    flat = [(t, 2800 + min(t, 1800) / 10, 9) for t in range(0, 7201, 60)]  # grows for 30 min, then stays
    rising = [(t, 2800 + t / 10, 9) for t in range(0, 7201, 60)]  # 360 MB an hour, all along
    assert levelling(flat, 8).endswith("second half +0 MB/h: levels off")
    assert levelling(rising, 8).endswith("second half +360 MB/h: still rising at +360 MB/h")
    assert levelling(flat[:2], 8).startswith("too few samples")

"""Follow-ups against first questions: time to the first answer token in two-turn conversations.

Each conversation is a test-set question, answered, then a follow-up asked with that turn as its history,
in the same process and model as the generation stage's questions. Six of the eight follow-ups point back
("he", "it", "they"): ``rewrite=context`` (the default) searches them together with the earlier question, with no
model call, and ``auto`` or ``always`` rewrite them with the model first; two stand alone (a user who names the
subject again), which only ``always`` rewrites. A follow-up's first-token time includes its rewrite, if any.
"""
from __future__ import annotations

import os

from ..evaluation.metrics import percentile

CONVERSATIONS = [
    ("Who is Sam Altman?", "What does he think about export controls?"),
    ("Why did OpenAI release gpt-oss?", "Which open-weight models did it release?"),
    ("What does Altman think about export controls?", "Why does he think they might not work?"),
    ("Who is Sam Altman?", "What does he say about China's AI progress?"),
    ("Why did OpenAI release gpt-oss?", "Can developers run them locally?"),
    ("What does Altman think about export controls?", "What are Chinese companies building instead of buying chips?"),
    ("Who is Sam Altman?", "Which company does he lead?"),
    ("Why did OpenAI release gpt-oss?", "What does Altman think about export controls?"),
]


def time_followups(assistant, count: int = len(CONVERSATIONS)) -> dict:
    """First question and follow-up first-token times of ``count`` conversations, with their medians."""
    from ..pipeline import Answer

    rows = []
    for first, follow in CONVERSATIONS[:count]:
        asked = next(e for e in assistant.stream(first) if isinstance(e, Answer))
        then = next(e for e in assistant.stream(follow, [(first, asked.answer)]) if isinstance(e, Answer))
        rows.append({"first": first, "follow_up": follow, "standalone": then.standalone_question,
                     "first_ttft_ms": asked.timings.ttft_ms or None, "follow_up_ttft_ms": then.timings.ttft_ms or None,
                     "refused": [asked.refused, then.refused], "load": f"{os.getloadavg()[0]:.2f}"})
    first_p50, follow_p50 = (median([r[key] for r in rows]) for key in ("first_ttft_ms", "follow_up_ttft_ms"))
    return {"n": len(rows), "first_ttft_ms_p50": first_p50, "follow_up_ttft_ms_p50": follow_p50,
            "gap_ms": round(follow_p50 - first_p50, 1) if first_p50 is not None and follow_p50 is not None else None,
            "rewritten": sum(r["standalone"] != r["follow_up"] for r in rows), "rows": rows}


def median(values) -> float | None:
    """``median([3.0, None, 1.0, 2.0]) -> 2.0``; None when nothing was timed."""
    got = percentile([v for v in values if v is not None], 50)
    return None if got is None else round(got, 1)

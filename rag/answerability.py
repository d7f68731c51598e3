"""Answerability: say "not in the articles" when the sources do not state the answer.

A small model asked about something the articles do not cover answers from the nearest passage ("Who won
the 2018 Tour de France?" → the 2019 winner). Two rules catch what can be caught without a larger model,
each measured on the bundled test set and confirmed on RGB dev (README, "How it decides to refuse"):

1. Before the model is asked: a number of the question (a year, an edition, a season) that no source
   names. News questions hinge on them, and the index holds the same event in other years.
2. After the answer is written: the model's own confidence in the names and numbers it wrote — the
   geometric mean of their tokens' probabilities. Invented names and years are written with low
   probability; an answer below ``min_confidence`` is withheld and the refusal shown instead.

Both are pure functions of data the pipeline already has: the question, the sources, and the sampled
tokens' log-probabilities (kvcache.record_sampled_logprobs).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

from .text import WORD, numbers

REASONS = {  # Answer.refused_by -> why, in words a reader can check (the page and the terminal show it)
    "relevance": "No passage of the articles is close to it.",
    "numbers": "It asks about a year or number that none of the passages found mentions.",
    "confidence": "A draft answer was written but withheld: the model was unsure of its names and numbers.",
    "stated": "A draft answer was written but withheld: the model did not find it stated in the sources.",
    "unsupported": "A draft answer was written but withheld: no cited passage supported it.",
}

# Capitalised words that name nothing: question words, auxiliaries, pronouns, articles.
NOT_SPECIFIC = frozenset("""who what when where which why how whom whose is are was were did does do can could will
would should shall might has have had the a an in on at of for to by from and or i it its he she they we you this
that these those there according yes no also but so""".split())


def missing_numbers(question: str, sources: Sequence[str]) -> list[str]:
    """The question's numbers of two digits or more (years, editions, seasons) that no source names; a
    single digit ("top 3", "item 2", a chat's "-0") is too common to decide on.

    ``missing_numbers('Who won the 2018 Tour de France?', ['Bernal won the 2019 Tour.']) -> ['2018']``
    ``missing_numbers('Name 3 chips (conversation x-0).', ['Chips.']) -> []``
    """
    named = set().union(*(numbers(source) for source in sources)) if sources else set()
    return sorted(n for n in numbers(question) - named if len(n) >= 2)


def specific_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the names and numbers of an answer: words with a digit, and capitalised words
    past the first that are not question words; words inside ``[n]`` markers are not the answer's.

    ``specific_spans('Geraint Thomas won in 2018 [1].') -> [(8, 14), (22, 26)]``
    """
    spans = []
    for i, match in enumerate(WORD.finditer(text)):
        word, start = match.group(0), match.start()
        inside_marker = text.rfind("[", 0, start) > text.rfind("]", 0, start)
        specific = any(c.isdigit() for c in word) or (i > 0 and word[0].isupper() and word.lower() not in NOT_SPECIFIC)
        if specific and not inside_marker:
            spans.append((start, match.end()))
    return spans


def confidence(tokens: Sequence[tuple[str, float]]) -> Optional[float]:
    """Geometric mean probability of the tokens that spell the answer's names and numbers; None without any.

    tokens are (text, log probability) of each sampled token, in order.
    ``confidence([('It', -0.1), (' was', -2.0), (' Ger', -0.1), ('aint', -0.3), (' in', -0.1), (' 2018', -1.1)])
    -> 0.6065`` (the tokens of "Geraint" and "2018": exp(mean(-0.1, -0.3, -1.1)))
    """
    text, bounds = "", []
    for piece, _ in tokens:
        bounds.append((len(text), len(text) + len(piece)))
        text += piece
    spans = specific_spans(text)
    chosen = [lp for (a, b), (_, lp) in zip(bounds, tokens) if any(a < end and start < b for start, end in spans)]
    return round(math.exp(sum(chosen) / len(chosen)), 4) if chosen else None

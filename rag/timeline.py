"""Timelines: "How did X change?", "What happened with X?" answered as dated events, oldest first, each one a quote.

A small model asked how something changed over five articles gives one or two of the steps and no dates. A
timeline needs no model: from each dated article on the subject, the sentence that best matches the question
(its words, and a number or a date in it) is one event, dated by the date the sentence gives ("on Sunday [18 June
2023]", rag/relative.py) or else by its article's date. Every line is the article's own words, so every line is
cited and backed by construction, and building one takes milliseconds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from .dates import DATELINE, spoken_date
from .implied import WEIGHT, implied
from .relative import resolve
from .text import content_words, sentences

# Words of the question that ask for a timeline rather than name what it is about.
ASKING = frozenset(content_words("how did has have had change changed changes evolve evolved develop developed "
                                 "progress progressed history timeline time line happen happened happening over years "
                                 "time course story step since what with grow rise fall shift move unfold hands"))
DATED = re.compile(r"\d|\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b")


@dataclass(frozen=True)
class Event:
    """One line of a timeline: its date (ISO, the precision the words give) and its sentence as a passage (the
    source's text is exactly the sentence, its start/end the sentence's offsets in the article)."""
    date: str
    passage: object  # retrieval.Passage


def events(question: str, passages: Sequence, on_subject: Callable, limit: int) -> list[Event]:
    """The timeline of the passages' dated articles on the question's subject: the best sentence of each article, at
    most limit of them (the best-matching, and always the oldest and the newest), oldest first; on_subject(passage)
    says which are on the subject (chronology.about).

    ``[e.date for e in events('How did the cost change?', [p('2021-03-17', 'It rose to 480 million.'),
    p('2019-02-13', 'The cost was set at 410 million.')], lambda p: True, 8)] -> ['2019-02-13', '2021-03-17']``
    """
    wanted = content_words(question) - ASKING
    extra = content_words(implied(question))  # "the leadership of X": the sentence naming its chief executive
    best: dict[str, tuple[float, object, int, int]] = {}
    seen = set()
    for passage in passages:
        if not passage.date or passage.chunk_id in seen or not on_subject(passage):
            continue
        seen.add(passage.chunk_id)
        for start, end in sentences(passage.text):
            score = sentence_score(wanted, passage.text[start:end])
            score += WEIGHT if score and extra & content_words(passage.text[start:end]) else 0.0
            if score > 0 and score > best.get(passage.doc_id, (0.0,))[0]:
                best[passage.doc_id] = (score, passage, start, end)
    kept = with_ends(list(best.values()), limit)
    found = [Event(event_date(p.text[a:b], p.date), quote(p, a, b)) for _, p, a, b in kept]
    return sorted(found, key=lambda e: (e.date, e.passage.date))


def with_ends(items: list, limit: int) -> list:
    """At most limit of (score, passage, start, end) items: the oldest and the newest always (a long story keeps its
    beginning and its end), then the best-scoring. ``[i[0] for i in with_ends([(3, p('2020')), (2, p('2019')),
    (1, p('2024'))], 2)] -> [2, 1]``"""
    if not items:
        return []
    oldest = min(items, key=lambda item: item[1].date)
    newest = max(items, key=lambda item: item[1].date)
    ends = [oldest] if newest is oldest else [oldest, newest]
    rest = sorted((item for item in items if item is not oldest and item is not newest), key=lambda item: -item[0])
    return (ends + rest)[:limit]


def latest(passages: Sequence, on_subject: Callable, sentences_kept: int = 2) -> list[Event]:
    """The latest news on the subject: the opening sentences of the newest dated article on it (a news article puts
    what happened first), as one event; none when no article on the subject is dated.

    ``latest([p('2021-03-17', 'Old.'), p('2025-04-16', 'It won a contract. It made a profit. More.')], lambda p: True)``
    -> ``[Event('2025-04-16', p('It won a contract. It made a profit.'))]``
    """
    dated = [p for p in passages if p.date and on_subject(p)]
    if not dated:
        return []
    newest = max(dated, key=lambda p: (p.date, -p.start))
    opening = min((p for p in dated if p.doc_id == newest.doc_id), key=lambda p: p.start)
    spans = sentences(opening.text)[:sentences_kept]
    return [Event(opening.date, quote(opening, spans[0][0], spans[-1][1]))] if spans else []


def quote(passage, start: int, end: int):
    """The passage cut to text[start:end], its dateline left out ("HARWICK, April 16 - "), offsets kept exact."""
    dateline = DATELINE.match(passage.text, start, end)
    start = dateline.end() if dateline else start
    return replace(passage, text=passage.text[start:end], start=passage.start + start, end=passage.start + end)


def sentence_score(wanted: set[str], sentence: str) -> float:
    """How well a sentence tells an event of the subject: the share of the question's own words it holds, plus half
    when it gives a number or a date (what changed, and when); 0 when it shares no word.

    ``sentence_score({'cost', 'hospital'}, 'The hospital will cost 480 million.') -> 1.5``
    """
    words = content_words(sentence)
    share = len(wanted & words) / len(wanted) if wanted else 0.0
    return 0.0 if share == 0 else share + (0.5 if DATED.search(sentence) else 0.0)


def event_date(sentence: str, published: str) -> str:
    """The date a sentence gives itself (its first relative date, resolved against the article), else the
    article's: ``event_date('It opened on Sunday.', '2023-06-19') -> '2023-06-18'``."""
    found = resolve(sentence, published)
    return found[0].iso if found else published


def lines(found: Sequence[Event]) -> str:
    """The timeline as the answer's text: one line per event, its date first, its source cited.

    ``lines([Event('2019-02-13', p('The cost was set at 410 million.'))])
    -> '- 13 February 2019: The cost was set at 410 million. [1]'``
    """
    return "\n".join(f"- {spoken_date(e.date)}: {e.passage.text.strip()} [{n}]" for n, e in enumerate(found, 1))



def timeline_answer(question: str, standalone: str, found: Sequence[Event], timings, model: str, **fields):
    """The Answer of a timeline: its lines as the text, each event's sentence a source, cited, highlighted whole
    and backed (a quote of its own source)."""
    from .answer import Answer, make_citation
    from .citations import Claim

    passages = [e.passage for e in found]
    text = lines(found)
    claims = [Claim(line.removeprefix("- ").rsplit(" [", 1)[0], [n], [n], {n: 1.0}, grounded=True)
              for n, line in enumerate(text.splitlines(), 1)]
    citations = [make_citation(n, p, True, [(0, len(p.text))]) for n, p in enumerate(passages, 1)]
    return Answer(question, text, False, citations, passages, claims, timings, model, standalone, timeline=True, **fields)

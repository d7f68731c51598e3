"""Chronology: how the passages' dates answer the time a question asks about (when.TimeFrame).

Retrieval orders its candidates by it (newest first on the subject for "now"; nearest the period for "in 2020"),
the refusal rules ask whether any article on the subject covers the asked period, and timelines keep only the
articles on the subject. A passage's date is its article's (ISO text, rag/dates.py); years the text names (with
relative dates resolved beside them, rag/relative.py) count for the period they name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Callable, Optional, Sequence

from . import grounding, reasons
from .dates import parse_date, spoken_date
from .relative import annotate
from .text import content_words, sentences
from .when import MONTH_WORD, YEAR, TimeFrame, period_words


def day_of(iso: str) -> Optional[date]:
    """A passage's date as a day (its first day when only the month or year is known), None when unknown."""
    iso = parse_date(iso)
    if not iso:
        return None
    parts = [int(p) for p in iso.split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


LOOKING_BACK = 90  # days: an article that names a year of the period, looking back at it, counts as this close to it


def years_named(text: str, published: str = "") -> set[int]:
    """The years a text names (relative dates resolved: "a year ago (2020)"), up to its article's own year when it has
    one: an article reports on its past; a year it names ahead of itself is a plan ("to open by 2027"), not news.

    ``years_named('From 2019 to 2021 (a year ago).', '2021-07-18') -> {2019, 2020, 2021}``;
    ``years_named('It will open in 2027.', '2024-06-14') -> set()``
    """
    found = {int(y) for y in re.findall(rf"(?<![\d.]){YEAR}(?![\d.]\d)", annotate(text, published))}  # "2018年" too
    day = day_of(published)
    return {year for year in found if day is None or year <= day.year}


def whole_years(frame: TimeFrame) -> bool:
    """Whether the frame's period is made of whole years ("in 2020", "2018年"), so an article naming the year speaks to
    it; a month or a season is not ("in March 2023": an article naming 2023 need not be about March)."""
    return frame.start.endswith("-01-01") and frame.end.endswith("-12-31")


def looks_back(frame: TimeFrame, text: str, published: str) -> bool:
    """Whether a text names a year of the frame's period of whole years, looking back at it (years_named).

    ``looks_back(TimeFrame('period', '2022-01-01', '2022-12-31'), 'Delayed again in 2022.', '2025-06-11') -> True``
    """
    start, end = day_of(frame.start), day_of(frame.end)
    return bool(start and end and whole_years(frame)) and any(start.year <= y <= end.year
                                                              for y in years_named(text, published))


def distance(frame: TimeFrame, published: str, text: str = "") -> Optional[float]:
    """How far a passage is from the frame's time, in days (0: inside it); None when the passage has no date.

    For "as of" the latest article up to the end is nearest, a later one (which may look back) after any earlier;
    an article that names a year of a period of whole years, looking back, counts as LOOKING_BACK days away.
    ``distance(TimeFrame('period', '2020-01-01', '2020-12-31'), '2021-03-08') -> 67``;
    ``distance(TimeFrame('period', '', '2022-03-31', True), '2022-01-26') -> 64``
    """
    start, end = day_of(frame.start), day_of(frame.end)
    if looks_back(frame, text, published):
        return float(LOOKING_BACK)
    day = day_of(published)
    if day is None:
        return None
    if frame.as_of and end:
        return float((end - day).days) if day <= end else 3650.0 + (day - end).days
    if start and day < start:
        return float((start - day).days)
    if end and day > end:
        return float((day - end).days)
    return 0.0


def order(passages: Sequence, frame: TimeFrame, on_subject) -> list:
    """The passages in the order the frame asks for, relevance breaking ties (their order in, best first).

    now / latest: passages on the subject newest first, then the rest; period: on the subject nearest the period
    first (undated ones after the dated); otherwise unchanged. on_subject(passage) says whether a passage is about
    what the question names.
    ``[p.date for p in order([p('2019'), p('2023'), p('2021')], TimeFrame('now'), lambda p: True)]
    -> ['2023', '2021', '2019']``
    """
    if not any(on_subject(p) for p in passages):
        return list(passages)  # nothing names the subject: relevance alone decides
    if frame.kind in ("now", "latest"):
        def key(item):
            i, p = item
            day = day_of(p.date)
            return (not on_subject(p), -(day.toordinal() if day else 0), i)
    elif frame.kind == "period":
        def key(item):
            i, p = item
            gap = distance(frame, p.date, p.text)
            return (not on_subject(p), 10 ** 6 if gap is None else gap, i)
    else:
        return list(passages)
    return [p for _, p in sorted(enumerate(passages), key=key)]


LEAD_CHARS = 400  # an article's title and first paragraph: where news names what it is about


def lead(article: str) -> str:
    """An article's title and opening (its first LEAD_CHARS characters): an article that names a subject only further
    down ("… is often compared with the rebuild of Ostvale General Hospital") is not about it."""
    return article[:LEAD_CHARS]


def day_reported(event: str, articles: Sequence[tuple[str, str]]) -> str:
    """The day of the article that reports an event (ISO), from articles as (date, text): the article with a sentence
    in its title or opening (lead) that names every name of the event and holds the most of its words, at least half
    of them; the earliest among equals (news reports an event when it happens, and looks back on it later); '' when
    none. One sentence, so that words scattered over the opening do not add up ("Tomas Brandt arrived" is not told by
    "new trains arrive late" above "chief executive Tomas Brandt defended…"). A made-up name in the event ("before
    Zorblax arrived") is in no article, so it dates nothing.

    ``day_reported('Tomas Brandt arrived', [('2021-09-22', 'Chief executive Tomas Brandt said…'),
    ('2018-03-14', 'Harwick Rail appointed Tomas Brandt…')]) -> '2018-03-14'``
    """
    words = content_words(event)
    named = grounding.constraints(f"and {event}")  # read mid-sentence: a capitalised first word is a name
    names = {token for c in named if c.kind in ("name", "code") for token in c.tokens}
    found = []
    for day, text in articles:
        opening = lead(text)
        told = [len(words & content_words(opening[a:b])) for a, b in sentences(opening)
                if names <= grounding.searchable([opening[a:b]])[0]]
        have = max(told, default=0)
        if day_of(day) and have and 2 * have >= len(words):
            found.append((-have, day_of(day), day))
    return min(found)[2] if found else ""


def written_by_then(passages: Sequence, frame: TimeFrame, on_subject, leading=None) -> list:
    """For a question about the state of things at a past time, the passages that tell it: on the subject, those dated
    in the period and the newest one before it ("as of": the newest up to its end). Later articles are left out
    unless they name a year of the period (looking back), and so are older ones, which it replaced: given both, the
    model answers with the fact of another time ("who led it in 2022?" answered with the chief executive named in
    2025, "the cost as of 2021" with the estimate of 2018). Events ("who won in 2020?"), other questions, passages off
    the subject or undated, and a subject with no article by then keep all. The newest before is the newest whose
    title and opening name the subject (leading: the test of an article's lead(), when given): an article naming it
    only in passing ("… often compared with the rebuild of Ostvale General Hospital") is not its newest news. Before an
    event (frame.event), the article reporting it and the newest before it both tell what it changed.

    ``[p.date for p in written_by_then([p('2018-09-12'), p('2020-05-27'), p('2025-06-11')], as_of_2021, on)]
    -> ['2020-05-27']``
    """
    start, end = day_of(frame.start), day_of(frame.end)
    if frame.kind != "period" or end is None or not frame.stative:
        return list(passages)
    dated = [(p, day_of(p.date)) for p in passages if on_subject(p) and day_of(p.date)]
    if not any(day <= end for _, day in dated):
        return list(passages)
    cut = start or end + timedelta(days=1)
    before = [day for p, day in dated if day < cut and (leading or on_subject)(p)] or [day for _, day in dated if day < cut]
    newest = max(before, default=None)
    # Before an event: its own report and the newest article before it (what it changed, said by either)
    previous = max((day for day in before if day < end), default=None) if frame.event else None

    def tells(p, day) -> bool:
        return day in (newest, previous) or (start is not None and start <= day <= end) or \
            (day > end and looks_back(frame, p.text, p.date))

    left_out = {id(p) for p, day in dated if not tells(p, day)}
    return [p for p in passages if id(p) not in left_out]


def coverage(frame: TimeFrame, passages: Sequence) -> tuple[bool, bool, list[date]]:
    """(covered, bracketed, dates) of the asked period by passages on its subject. Covered: one is dated in the
    period or names a year of it (for "as of", one is dated up to its end; for "since", one from its start on).
    Bracketed: some are dated before the period and some after (who held an office then can be read from both).

    ``coverage(TimeFrame('period', '2020-01-01', '2020-12-31'), [p('2019-11-06'), p('2021-09-22')])[:2] -> (False, True)``
    """
    dates = sorted(d for d in (day_of(p.date) for p in passages) if d)
    start, end = day_of(frame.start), day_of(frame.end)
    by_year = whole_years(frame) or not frame.end  # whole years, or "since 2019": naming a year of it speaks to it
    named = set().union(*(years_named(p.text, p.date) for p in passages)) if by_year else set()
    if frame.as_of:
        return any(d <= end for d in dates), False, dates
    if end is None:
        return any(d >= start for d in dates) or any(y >= start.year for y in named), False, dates
    inside = any(start <= d <= end for d in dates) or any(start.year <= y <= end.year for y in named)
    return inside, bool(dates) and dates[0] < start and dates[-1] > end, dates


# -- what the question is about, and the refusal for a time no article covers ------------------------------------
def subject(question: str, frame: TimeFrame) -> list:
    """The names and codes a question asks about (grounding.constraints), its time words and months left out.

    ``[c.text for c in subject('Who ran Harwick Rail in March 2023?', read_question(…))] -> ['Harwick', 'Rail']``
    """
    skip = set(grounding.tokens(frame.words)) if frame.kind != "history" else set()  # "How did X change": X is it
    return [c for c in grounding.constraints(question) if c.kind in ("name", "code")
            and not skip.intersection(c.tokens) and not re.fullmatch(MONTH_WORD, c.text, re.I)]


@dataclass
class Candidates:
    """What retrieval considered for a question, in the order its time asks for (when.order), and the test of
    which are on its subject: the time rules and timelines read more than the top-k."""
    passages: list = field(default_factory=list)
    on_subject: Callable = lambda passage: True


def about(wanted: Sequence, articles: Optional[dict[str, str]] = None) -> Callable:
    """A test of whether a passage is on the subject: its article (the whole text in articles, by doc_id, else the
    passage's title and text) names every word of every one of wanted (grounding.present, each word of a name of
    several words itself: "Dunmore Transit Authority" is not found by "authority" alone). Any passage passes when
    wanted is empty.
    """
    strict = [replace(c, phrase=()) for c in wanted]
    seen: dict[str, bool] = {}

    def test(passage) -> bool:
        if not strict:
            return True
        key = passage.doc_id if articles and passage.doc_id in articles else passage.chunk_id
        if key not in seen:
            text = articles[key] if articles and key in articles else f"{passage.title} {passage.text}"
            vocabulary, joined = grounding.searchable([text])
            seen[key] = all(grounding.present(c, vocabulary, joined) and written(c, text) for c in strict)
        return seen[key]

    return test


def written(constraint, text: str) -> bool:
    """A name of the question is in a text as a name, capitalised as the question writes it ("The Crown" is not the
    "crown" of a Grand Slam title); a code or a number as present() found it. ``written(name('Crown'), 'a crown') -> False``"""
    word = constraint.text
    return constraint.kind != "name" or not word[:1].isupper() or re.search(rf"(?<!\w){re.escape(word)}", text) is not None \
        or word.upper() == word  # an acronym: present() already matched its spellings ("U.S." = "US")


def uncovered(question: str, frame: TimeFrame, pool: Sequence, test: Callable) -> str:
    """Why no article can answer for the asked period, in one sentence; '' when one can (or the articles on the
    subject carry no dates, when the numbers rule decides as before).

    A period is answered by an article dated in it or naming a year of it; a state ("who led X in 2020") also
    by articles dated before and after it. The sentence names the period the articles do cover:
    ``'The articles on Harwick Rail run from 14 March 2018 to 16 April 2025; none is from 2015.'``
    """
    if frame.kind != "period":
        return ""
    on_subject = [p for p in pool if test(p)]
    covered, bracketed, dates = coverage(frame, on_subject)
    if not dates or covered or (bracketed and frame.stative):
        return ""
    name = reasons.event_phrase(question) or " ".join(c.text for c in subject(question, frame))
    articles = f"The articles on {name}" if name else "The articles found"
    span = f"from {spoken_date(dates[0].isoformat())} to {spoken_date(dates[-1].isoformat())}"
    if len(dates) == 1 or dates[0] == dates[-1]:
        span = f"from {spoken_date(dates[0].isoformat())}"
        return f"{articles} are {span}; none is from {period_words(frame)}."
    return f"{articles} run {span}; none is from {period_words(frame)}."

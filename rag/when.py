"""Time in questions: what a question says about when, and how the passages' dates answer to it.

News changes, so "Who leads Harwick Rail?" must be read from the newest article on Harwick Rail, "Who led it in
2020?" from the articles around 2020, and "How did the cost change?" from all of them in order. A question says
one of these (``TimeFrame.kind``):

- ``now``: now, currently, still, these days, or a question in the present tense with no other time in it
  ("Who leads X?"). "Now" is today (the clock, or the ``today`` setting); the answer is as of the newest source.
- ``latest``: the latest / most recent / newest news.
- ``period``: a time of its own: "in 2020", "during 2021", "as of March 2022", "by the end of 2020", "before
  2021", "since 2019", "between 2019 and 2021", "last year" (from today). ``start``/``end`` bound it (either may be
  open); ``as_of`` means the state at its end ("as of", "by", "before", "until").
- ``history``: how did X change / what happened with X / the history or timeline of X.
- ``""``: nothing about time.

A year written after "the" and before a noun ("the 2018 Tour de France") names an edition, not a time: that stays
the numbers rule's (answerability.missing_numbers). Everything here is a pure function of the question, today's
date and the passages' dates (ISO text, rag/dates.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from .dates import MONTHS, month_number, spoken_date

YEAR = r"(?:19|20)\d\d"
MONTH_WORD = (r"january|february|march|april|may|june|july|august|september|october|november|december"
              r"|jan\.?|feb\.?|mar\.?|apr\.?|jun\.?|jul\.?|aug\.?|sept?\.?|oct\.?|nov\.?|dec\.?")
PART = r"early|late|mid|the start of|the beginning of|the middle of|the end of|the first half of|the second half of" \
       r"|spring|summer|autumn|fall|winter|the spring of|the summer of|the autumn of|the fall of|the winter of"
WHEN = (rf"(?:(?P<part>{PART})[\s-]+)?(?:(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s+)?(?:(?P<month>{MONTH_WORD})\s+)?"
        rf"(?P<day2>[0-3]?\d(?:st|nd|rd|th)?,?\s+)?(?P<year>{YEAR})\b(?!\s*[-–/]\s*\d)(?!\s+(?-i:[A-Z]))")
PREPOSITION = {"as of": "as_of", "by": "as_of", "until": "as_of", "till": "as_of", "up to": "as_of", "before": "before",
               "prior to": "before", "since": "since", "after": "after", "from": "since", "in": "in", "during": "in",
               "throughout": "in", "over": "in", "for": "in", "at": "in", "on": "in", "around": "in", "of": "in"}
FRAME = re.compile(rf"\b(?P<prep>{'|'.join(sorted(PREPOSITION, key=len, reverse=True))})\s+{WHEN}", re.I)
# "before the 2024 revision", "since the 2019 election": a year's event as an anchor (without the preposition, "the
# 2018 Tour" names an edition); before it is the state up to the year before, after it from the year's start.
ANCHOR = re.compile(rf"\b(?P<prep>before|prior to|until|after|since)\s+the\s+(?P<year>{YEAR})\s+(?-i:[a-z])", re.I)
RANGE = re.compile(rf"\b(?:between|from)\s+(?P<a>{YEAR})\s+(?:and|to|until|through|-|–)\s+(?P<b>{YEAR})\b", re.I)
RELATIVE = re.compile(r"\b(?P<rel>last|this|past|previous)\s+(?P<unit>year|month)\b", re.I)
NOW = re.compile(r"\b(?:now|currently|current|still|today|these days|at present|presently|nowadays|at the moment|"
                 r"any ?more|as things stand|where do things stand|so far|to date)\b|现在|目前|当前|如今|至今|仍然|还是", re.I)
LATEST = re.compile(r"\b(?:latest|most recent|newest|recent|recently|last news|newest|up to date|update on)\b"
                    r"|最新|最近|近期", re.I)
ZH_FRAME = re.compile(rf"(?P<prep>截至|截止到?|到)?(?<!\d)(?P<year>{YEAR})\s*年(?:\s*(?P<month>[01]?\d)\s*月)?(?:\s*底)?"
                      rf"(?P<after>以前|之前|前|以来|之后|后)?")
HISTORY = re.compile(r"\b(?:how (?:did|has|have|had) .{0,80}?\b(?:change|changed|evolve|evolved|develop|developed|"
                     r"progress|progressed|grow|grown|rise|risen|fall|fallen|shift|shifted|move|moved|go|gone|unfold|"
                     r"unfolded)\b|what (?:has|have) changed|history of|timeline|time line|what happened (?:with|to)|over the years|over time|"
                     r"step by step|chronolog)|历史|历程|演变|如何变化|怎样变化|怎么变化|有何变化|发生了什么", re.I)
# "before Tomas Brandt arrived", "after the tunnel flooding": a time placed by an event, which chronology.day_reported
# dates from the article that reports it ("named after", "look after" are no time).
EVENT_ANCHOR = re.compile(r"(?<!named )(?<!called )(?<!look )(?<!looks )(?<!looked )(?<!looking )\b"
                          r"(?P<rel>before|after|until|since)\s+(?P<event>[^,;:?!.]+)", re.I)
EVENT_WORDS = re.compile(r"\b(?:when|date|day)\b", re.I)  # "when does it open", "the release date": an event
PRESENT = re.compile(r"\b(?:is|are|am|does|do|has|have|who's|what's|where's)\b", re.I)
PAST = re.compile(r"\b(?:was|were|did|had|ago|former|formerly|previous|previously|(?-i:[a-z]{3,}ed))\b|"
                  r"\b(?:won|led|ran|became|began|broke|got|took|made|gave|held|left|lost|fell|rose|met|paid|sold|"
                  r"bought|brought|chose|wrote|said|told|went|came|saw|built|sent|spent|set|put|kept)\b", re.I)
# Verbs of a state, as opposed to an event: "who led X in 2020" can be read from articles before and after 2020
# (the leader then is named in both), "who won X in 2020" cannot. Stative verbs are a fact of English, not a fit.
STATIVE = re.compile(r"\b(?:lead|leads|led|leading|run|runs|ran|running|head|heads|headed|heading|manage|manages|"
                     r"managed|managing|chair|chairs|chaired|own|owns|owned|hold|holds|held|holding|cost|costs|"
                     r"costing|employ|employs|employed|control|controls|controlled|govern|governs|governed|coach|"
                     r"coaches|coached|coaching|serve|serves|served|serving|remain|remains|remained|belong|belonged|"
                     r"allow|allowed|permitted|in charge|in office|be|been|being|live|lived|work|worked|working)\b", re.I)
BE_STATE = re.compile(r"\b(?:was|were|is|are)\b(?!\s+(?:\w+ly\s+)?(?:[a-z]+ed|won|named|chosen|given|made|held|"
                      r"taken|elected|awarded|beaten|broken|built|sold|bought|hit|shot|found|born)\b)", re.I)


@dataclass(frozen=True)
class TimeFrame:
    """What a question says about time: its kind, the period it asks about (ISO dates, '' when open), its words."""
    kind: str = ""  # "", "now", "latest", "period", "history"
    start: str = ""  # the period's first day
    end: str = ""  # its last day
    as_of: bool = False  # the state at the end of the period ("as of", "by", "before", "until")
    words: str = ""  # the question's words that say it ("in 2020", "now")
    stative: bool = True  # asks about a state (who led, what it cost), not an event (who won)
    today: str = ""  # the day "now" is, ISO
    event: str = ""  # the event that places the period ("Tomas Brandt arrived"), when an event does, not a date

    @property
    def years(self) -> set[str]:
        """The years the frame's words name (they are the frame's, not an edition's): {'2020'} for "in 2020"."""
        return set(re.findall(YEAR, self.words))


def read_question(question: str, today: date) -> TimeFrame:
    """The question's time frame, as of today.

    ``read_question('Who led Harwick Rail in 2020?', date(2026, 12, 7))``
    -> ``TimeFrame('period', '2020-01-01', '2020-12-31', False, 'in 2020', True, '2026-12-07')``;
    ``read_question('Who leads Harwick Rail?', …).kind -> 'now'``; ``read_question('Who won the 2018 Tour de France?',
    …).kind -> ''`` (an edition, not a time); ``read_question('How did the cost change?', …).kind -> 'history'``.
    """
    stative = is_stative(question)
    common = dict(stative=stative, today=today.isoformat())
    if HISTORY.search(question):
        return TimeFrame("history", words=HISTORY.search(question).group(0), **common)
    span = RANGE.search(question)
    if span:
        return TimeFrame("period", f"{span['a']}-01-01", f"{span['b']}-12-31", False, span.group(0), **common)
    framed = FRAME.search(question)
    if framed:
        start, end = bounds(framed)
        if start:
            return from_preposition(PREPOSITION[framed["prep"].lower()], start, end, framed.group(0), common)
    anchor = ANCHOR.search(question)
    if anchor:
        kind = "since" if anchor["prep"].lower() in ("after", "since") else "before"
        year = anchor["year"]
        return from_preposition(kind, f"{year}-01-01", f"{year}-12-31", f"{anchor['prep']} {year}", common)
    chinese = ZH_FRAME.search(question)
    if chinese:  # "2018年…", "截至2021年底", "2019年以来": a year written in Chinese is a time, not an edition's name
        month = int(chinese["month"]) if chinese["month"] and 1 <= int(chinese["month"]) <= 12 else 0
        start, end = (f"{chinese['year']}-{month:02d}-01", month_end(int(chinese["year"]), month).isoformat()) if month \
            else (f"{chinese['year']}-01-01", f"{chinese['year']}-12-31")
        kind = "as_of" if chinese["prep"] else {"以前": "before", "之前": "before", "前": "before", "以来": "since",
                                                "之后": "after", "后": "after"}.get(chinese["after"] or "", "in")
        return from_preposition(kind, start, end, chinese.group(0), common)
    relative = RELATIVE.search(question)
    if relative:
        start, end = relative_bounds(relative["rel"].lower(), relative["unit"].lower(), today)
        return TimeFrame("period", start, end, False, relative.group(0), **common)
    if LATEST.search(question):
        return TimeFrame("latest", words=LATEST.search(question).group(0), **common)
    if NOW.search(question):
        return TimeFrame("now", words=NOW.search(question).group(0), **common)
    if present_tense(question) and not asks_for_event(question):
        return TimeFrame("now", **common)
    return TimeFrame(**common)


def event_anchor(question: str) -> tuple[str, str]:
    """("before" or "after", the event's words) of a question that places its time by an event, ("", "") when there
    is none; asked only of a question that gives no time itself (read_question's kind '').

    ``event_anchor('Who ran Harwick Rail before Tomas Brandt arrived?') -> ('before', 'Tomas Brandt arrived')``;
    ``event_anchor('After the tunnel flooding, what delayed the line next?') -> ('after', 'the tunnel flooding')``;
    ``event_anchor('Who led it before 2020?') -> ('', '')``; ``event_anchor('What happened after that?') -> ('', '')``
    """
    found = EVENT_ANCHOR.search(question)
    if not found:
        return "", ""
    event = found["event"].strip()
    if not re.search(r"[A-Za-z]{3}", re.sub(r"(?i)\b(?:that|then|this|it|which|what|when|now|all|the|a|an)\b", "", event)):
        return "", ""
    return ("before" if found["rel"].lower() in ("before", "until") else "after"), event


def placed_by_event(frame: TimeFrame, relation: str, event: str, day: str) -> TimeFrame:
    """The frame of a question whose time is an event dated day (ISO): "before" it is the state up to that day (its
    own report tells what it replaced: "He replaces Maria Lind"), "after" it from that day on.

    ``placed_by_event(TimeFrame(today='2026-12-08'), 'before', 'Tomas Brandt arrived', '2018-03-14')``
    -> ``TimeFrame('period', '', '2018-03-14', True, 'before Tomas Brandt arrived', True, '2026-12-08', '2018-03-14')``
    """
    common = dict(words=f"{relation} {event}", today=frame.today, event=day)
    if relation == "before":
        return TimeFrame("period", "", day, True, stative=frame.stative, **common)
    return TimeFrame("period", day, "", False, stative=frame.stative, **common)


def from_preposition(kind: str, start: str, end: str, words: str, common: dict) -> TimeFrame:
    """A period from its preposition: "as of"/"by" the end of it, "before" the start, "since"/"after" on."""
    if kind == "as_of":
        return TimeFrame("period", "", end, True, words, **{**common, "stative": True})
    if kind == "before":
        return TimeFrame("period", "", (date.fromisoformat(start) - timedelta(days=1)).isoformat(), True, words,
                         **{**common, "stative": True})
    if kind == "since":
        return TimeFrame("period", start, "", False, words, **common)
    if kind == "after":
        return TimeFrame("period", (date.fromisoformat(end) + timedelta(days=1)).isoformat(), "", False, words, **common)
    return TimeFrame("period", start, end, False, words, **common)


def bounds(match: re.Match) -> tuple[str, str]:
    """(first day, last day) of a matched "[part] [day] [month] year", ISO; ('', '') when it is no real date.

    ``bounds(FRAME.search('in mid-2021')) -> ('2021-05-01', '2021-08-31')``;
    ``bounds(FRAME.search('as of late January 2022')) -> ('2022-01-21', '2022-01-31')``
    """
    year = int(match["year"])
    month = month_number(match["month"]) if match["month"] else 0
    day = int(re.sub(r"\D", "", match["day"] or match["day2"] or "") or 0)
    part = (match["part"] or "").lower().removeprefix("the ").removesuffix(" of")
    if month and day:
        try:
            one = date(year, month, day).isoformat()
        except ValueError:
            return "", ""
        return one, one
    if month:
        first, last = date(year, month, 1), month_end(year, month)
        if part == "early":
            return first.isoformat(), (first + timedelta(days=9)).isoformat()
        if part in ("late", "end"):
            return (last - timedelta(days=10)).isoformat(), last.isoformat()
        return first.isoformat(), last.isoformat()
    months = {"early": (1, 4), "mid": (5, 8), "middle": (5, 8), "late": (9, 12), "end": (10, 12), "start": (1, 3),
              "beginning": (1, 3), "first half": (1, 6), "second half": (7, 12), "spring": (3, 5), "summer": (6, 8),
              "autumn": (9, 11), "fall": (9, 11), "winter": (12, 12)}.get(part, (1, 12))
    return date(year, months[0], 1).isoformat(), month_end(year, months[1]).isoformat()


def relative_bounds(rel: str, unit: str, today: date) -> tuple[str, str]:
    """``relative_bounds('last', 'year', date(2024, 2, 1)) -> ('2023-01-01', '2023-12-31')``; this/last month alike."""
    step = 0 if rel == "this" else -1
    if unit == "year":
        return f"{today.year + step}-01-01", f"{today.year + step}-12-31"
    index = today.year * 12 + today.month - 1 + step
    year, month = index // 12, index % 12 + 1
    return date(year, month, 1).isoformat(), month_end(year, month).isoformat()


def month_end(year: int, month: int) -> date:
    """``month_end(2024, 2) -> date(2024, 2, 29)``"""
    return (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))


def asks_for_event(question: str) -> bool:
    """A present-tense question that asks when something happens, or about a named year's edition, asks about an
    event, not about how things stand now: its newest article is not its answer.

    ``asks_for_event('When does the iPhone 11 release?') -> True``;
    ``asks_for_event('What is the date of the 2021 NBA Draft?') -> True``;
    ``asks_for_event('Who heads Hartwick Railworks?') -> False``
    """
    return bool(EVENT_WORDS.search(question) or re.search(rf"(?<!\d){YEAR}(?!\d)", question))


def present_tense(question: str) -> bool:
    """A question in the present tense with no past in it: it asks how things are now.

    ``present_tense('Who heads Hartwick Railworks?') -> True``; ``present_tense('Who was chief executive?') -> False``;
    ``present_tense('What does Altman think?') -> True``
    """
    if PAST.search(question):
        return False
    return bool(PRESENT.search(question) or re.match(r"(?i)\s*(?:who|which \w+|what \w+)\s+[a-z]+s\b", question))


def is_stative(question: str) -> bool:
    """Whether a question asks about a state (who led, what it cost, what the rules were) rather than an event.

    ``is_stative('Who was the boss of Harwick Rail during 2020?') -> True``;
    ``is_stative('Who won the Tour de France in 2020?') -> False``; ``is_stative('Who was elected in 2020?') -> False``
    """
    return bool(STATIVE.search(question) or BE_STATE.search(question))


def period_words(frame: TimeFrame) -> str:
    """The asked time as a reader says it: ``period_words(frame of 'in spring 2026') -> 'spring 2026'``; a relative
    one with its year: ``'last year' -> 'last year (2023)'``."""
    if frame.event:
        return f"the time {frame.words} ({spoken_date(frame.event)})"
    words = re.sub(r"^(?:as of|by|until|till|up to|before|prior to|since|after|from|in|during|throughout|over|for|at"
                   r"|on|around|of)\s+", "", frame.words, flags=re.I)
    if RELATIVE.fullmatch(frame.words):
        start = date.fromisoformat(frame.start)
        words += f" ({start.year})" if "year" in frame.words.lower() else f" ({MONTHS[start.month - 1].capitalize()} {start.year})"
    return words

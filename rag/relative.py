"""Relative dates: "on Sunday", "last week", "next spring" read against the article's own date.

News copy dates events relative to the day it was written. A reader asking "when did it happen?" months later needs
the date, and so does the model (it would copy "on Sunday"). Each expression is found by a pattern, resolved from the
article's publication date and the tense around it (past: "said on Monday" is the Monday before; future: "will open
on Monday" the Monday after), and written beside the original words, which are never changed:
``annotate('The board met on Sunday.', '2023-06-19') -> 'The board met on Sunday, 18 June 2023.'`` (a day as an
apposition, anything else in parentheses: in square brackets the model copied the date as if it were a citation
marker, in parentheses it often gave the publication date instead; measured in docs/time.md).

A resolved date is ISO text at the precision the words give (``2023-06-18``, ``2023-06``, ``2023``; a week by its
Monday, a quarter by its first month), shown in words ("the week of 10 February 2020", "the fourth quarter of
2019"). Measured against hand-resolved news sentences in docs/time.md (tests/data/temporal/relative_dates*.jsonl).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from typing import Optional

from .dates import month_number, parse_date, spoken_date

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month (northern hemisphere)
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
                "thirty": 30, "fifty": 50, "a dozen": 12, "a few": 3, "several": 3}
QUARTERS = ("first", "second", "third", "fourth")

WD = r"(?P<wd>(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday))"
MONTH_NAMES = (r"January|February|March|April|May|June|July|August|September|October|November|December"
               r"|Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.")
MON = rf"(?P<mon>{MONTH_NAMES})"
DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
NUM = r"(?P<n>\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
UNIT = r"(?P<unit>day|week|month|year|decade)s?"
NO_YEAR = r"(?!,?\s*(?:1[89]|2[01])\d\d\b)(?!\d)"  # "March 20, 2019" is absolute: not ours
SEASON = r"(?P<season>spring|summer|autumn|fall|winter)"

# (kind, pattern), tried in this order; a match never overlaps an earlier one.
PATTERNS = [(kind, re.compile(pattern)) for kind, pattern in (
    ("wd_month_day", rf"\b{WD},?\s+{MON}\s+{DAY}\b{NO_YEAR}"),
    ("month_day", rf"\b{MON}\s+{DAY}\b{NO_YEAR}"),
    ("day_month", rf"\b{DAY}\s+{MON}(?!\s*,?\s*(?:1[89]|2[01])\d\d\b)"),
    ("ago", rf"(?i:\b(?:nearly |almost |about |some |more than |over )?{NUM}\s+{UNIT}\s+ago(?P<today>\s+today)?"
            rf"(?P<thisweek>\s+this\s+week)?)"),
    ("year_earlier", rf"(?i:\b{NUM}\s+(?P<unit2>year|month|week|day)s?\s+(?P<dir>earlier|later)\b)"),
    ("month_rel_year", rf"\b{MON}\s+(?i:(?P<rel>last|this|next)\s+year)\b"),
    ("end_of", r"(?i:\b(?:at\s+)?(?:the\s+)?(?P<part>end|middle|start|beginning)\s+of\s+(?:the\s+)?(?P<rel>last|this|next)\s+"
               r"(?P<unit>week|month|year|quarter)\b)"),
    ("end_of_month", rf"\b(?i:(?:the\s+)?(?:end|middle|start|beginning)\s+of)\s+{MON}{NO_YEAR}(?!\s+(?i:last|this|next)\b)"),
    ("part_rel", r"(?i:\b(?P<part>early|late|earlier|later|mid)[\s-]+(?P<rel>last|this|next)\s+(?P<unit>week|month|year|quarter))\b"),
    ("rel_unit", r"(?i:\b(?P<rel>last|this|next|past)\s+(?P<unit>week|month|year|quarter|season|weekend)\b)"),
    ("rel_season", rf"(?i:\b(?P<rel>last|this|next)\s+{SEASON}\b)"),
    ("the_season", rf"(?i:\b(?:over|during|through|in|until|by)\s+the\s+{SEASON}\b)"),
    ("rel_wd", rf"\b(?i:(?P<rel>last|this|next|coming))\s+{WD}\b"),
    ("day_word", r"(?i:\b(?P<word>yesterday|today|tonight|tomorrow|this\s+(?:morning|afternoon|evening)))\b"),
    ("weekday", rf"\b{WD}(?:'s)?\b(?!,?\s+(?:{MONTH_NAMES})\s+\d)"),  # "Sunday, October 2, 2022" is absolute
    ("month", rf"(?:(?<=\bin )|(?<=\bsince )|(?<=\bby )|(?<=\buntil )|(?<=\bfrom )|(?<=\bthrough )|(?<=\bbefore )"
              rf"|(?<=\bafter )|(?<=\bduring )|(?<=\bof )|(?<=\bearly )|(?<=\blate )|(?<=\bmid-)|(?<=\bIn )){MON}{NO_YEAR}"
              rf"(?!\s+[0-3]?\d\b)(?!\s+(?:to|and|through)\s+(?:{MONTH_NAMES}))"),  # "from November to February" recurs
)]

FUTURE_WORDS = (r"\b(?:will|won't|'ll|shall|would|should|can|is to|are to|to be|is due|are due|due to|expects?|expected"
                    r"|plans?|planned|planning|scheduled|set to|going to|is to|upcoming|begins?|starts?|opens?|"
                    r"premieres?|returns?|lands?|takes? effect|hosts?|play|face|faces|kicks? off)\b")
PAST_WORDS = (r"\b(?:was|were|had|did|said|told|since|found|made|took|won|gave|went|came|saw|began|rose|fell|"
                  r"held|left|met|ran|led|became|broke|paid|sold|bought|brought|got|lost|wrote|spoke|chose|flew|"
                  r"grew|built|sent|spent|struck|hit|cut|set|put|kept|(?-i:[a-z]{2,}ed)|ago|earlier|last)\b")
FUTURE = re.compile(FUTURE_WORDS, re.I)
PAST_LISTED = frozenset(re.findall(r"[a-z]+", PAST_WORDS.split("(?-i:")[0]))
TENSE = re.compile(f"{FUTURE_WORDS}|{PAST_WORDS}", re.I)  # the future words first: "expected" is not a past


@dataclass(frozen=True)
class Resolved:
    """One relative expression of a text: where it is, its words, its date (ISO, at its precision) and how it is shown."""
    start: int
    end: int
    words: str
    iso: str
    shown: str


def resolve(text: str, published: str) -> list[Resolved]:
    """Every relative date expression of text, resolved against the article's publication date (ISO); none when
    the article's date is unknown or only a year (then "on Sunday" cannot be placed).

    ``[(r.words, r.iso) for r in resolve('Shares fell on Monday; the sale ends next month.', '2021-08-18')]
    -> [('next month', '2021-09'), ('Monday', '2021-08-16')]``
    """
    day = full_date(published)
    if day is None:
        return []
    found: list[Resolved] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < b and a < match.end() for a, b in taken):
                continue
            iso = RESOLVERS[kind](match, day, tense(text, match.start(), match.end()))
            if iso:
                taken.append((match.start(), match.end()))
                found.append(Resolved(match.start(), match.end(), match.group(0), iso, shown_as(kind, iso, match)))
    return sorted(found, key=lambda r: r.start)


@lru_cache(maxsize=8192)
def annotate(text: str, published: str) -> str:
    """The text with each relative date's resolved date in brackets after its words; nothing else changes.

    ``annotate('It opened on Sunday, two years ago.', '2023-06-19') -> 'It opened on Sunday, 18 June 2023, two
    years ago (2021).'``
    """
    pieces, at = [], 0
    for found in resolve(text, published):
        pieces += [text[at:found.end], beside(found, text[found.end:found.end + 2])]
        at = found.end
    return "".join(pieces) + text[at:]


def beside(found: Resolved, after: str) -> str:
    """What is written after an expression's words: a day named only by its weekday or as "yesterday" gets its date
    as an apposition (", 18 June 2023,"), which the model reads as the day it is; anything else its date in
    parentheses ("last week (the week of 10 February 2020)").

    ``beside(Resolved(0, 6, 'Sunday', '2023-06-18', '18 June 2023'), ' it') -> ', 18 June 2023,'``
    """
    plain_day = len(found.iso) == 10 and not found.words.endswith("'s") and not re.search(r"\d|week", found.words)
    if not plain_day:
        return f" ({found.shown})"
    return f", {found.shown}" + ("" if not after or after[0] in ".,;:!?)\"”'" else ",")


def full_date(iso: str) -> Optional[date]:
    """The date of an ISO text known to the day or the month (the 1st then), else None: ``full_date('2019-07') -> 2019-07-01``."""
    iso = parse_date(iso)
    if len(iso) < 7:
        return None
    year, month, *rest = (int(part) for part in iso.split("-"))
    return date(year, month, rest[0] if rest else 1)


def tense(text: str, start: int, end: int, reach: int = 60) -> str:
    """'future', 'past' or '' (nothing says) for the clause around text[start:end]: the nearest tense word before
    it within its clause, else the first after it. A participle after "be" ("will be banned") is not one: its
    auxiliary is.

    ``tense('Tests will begin on Monday', 18, 27) -> 'future'``; ``tense('Shares fell on Monday', 12, 21) -> 'past'``;
    ``tense('Fishing will be banned from Monday', 28, 34) -> 'future'``
    """
    before = re.split(r"[.;:!?()](?=\s|$)|, (?:and|but|after|while|when)\b", text[max(0, start - reach):start])[-1]
    after = re.split(r"[.;:!?()](?=\s|$)", text[end:end + reach // 2])[0]
    markers = tense_words(before) or tense_words(after)[:1]
    if not markers:
        return ""
    return "future" if FUTURE.fullmatch(markers[-1]) else "past"


def tense_words(text: str) -> list[str]:
    """The words of text that say its tense, in order, passive participles left out.

    ``tense_words('fishing will be banned, they said') -> ['will', 'said']``
    """
    found = []
    for match in TENSE.finditer(text):
        word = match.group(0)
        participle = not FUTURE.fullmatch(word) and re.fullmatch(r"[a-z]{2,}ed", word) and word not in PAST_LISTED
        if participle and re.search(r"\b(?:be|been|being|is|are|am|was|were|get|got)\s+$", text[:match.start()], re.I):
            continue
        found.append(word)
    return found


def number(word: str) -> int:
    """``number('twenty') -> 20``; ``number('16') -> 16``; ``number('a dozen') -> 12``"""
    word = word.lower()
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def shift_months(day: date, months: int) -> tuple[int, int]:
    """(year, month) months after day's month: ``shift_months(date(2023, 1, 5), -2) -> (2022, 11)``."""
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())  # the Monday of day's week


def weekday_near(day: date, weekday: int, when: str) -> date:
    """The weekday on or before day (past), or on or after it (future).

    ``weekday_near(date(2023, 6, 19), 6, 'past') -> 2023-06-18``; ``weekday_near(date(2025, 6, 11), 0, 'future') -> 2025-06-16``
    """
    delta = (day.weekday() - weekday) % 7
    return day + timedelta(days=(weekday - day.weekday()) % 7) if when == "future" else day - timedelta(days=delta)


def month_near(day: date, month: int, when: str) -> int:
    """The year of the named month nearest day in the tense's direction (this month counts as both).

    ``month_near(date(2018, 3, 14), 12, 'past') -> 2017``; ``month_near(date(2024, 11, 20), 3, 'future') -> 2025``
    """
    if when == "future":
        return day.year if month >= day.month else day.year + 1
    return day.year if month <= day.month else day.year - 1  # past, and when nothing says (news reports)


def day_near(day: date, month: int, dom: int, when: str, weekday: Optional[int] = None) -> str:
    """ISO date of a month and day with no year: the year whose date matches the weekday named with it, else the
    nearest in the tense's direction (within a week either way counts as near)."""
    candidates = []
    for year in (day.year - 1, day.year, day.year + 1):
        try:
            candidates.append(date(year, month, dom))
        except ValueError:
            continue
    if weekday is not None:
        named = [c for c in candidates if c.weekday() == weekday]
        if named:
            return min(named, key=lambda c: abs((c - day).days)).isoformat()
    if when == "future":
        ahead = [c for c in candidates if c >= day - timedelta(days=7)]
    elif when == "past":
        ahead = [c for c in candidates if c <= day + timedelta(days=7)]
    else:  # nothing says: the nearest
        ahead = candidates
    chosen = min(ahead or candidates, key=lambda c: abs((c - day).days))
    return chosen.isoformat()


def season_year(day: date, season: str, rel: str, when: str) -> int:
    """The year a season named relative to day starts in ("the winter" counts as the year it starts).

    ``season_year(date(2024, 6, 14), 'spring', 'next', 'future') -> 2025``;
    ``season_year(date(2023, 1, 12), 'summer', 'last', 'past') -> 2022``
    """
    first = SEASONS[season]
    started = (day.month >= first) if first != 12 else False  # a winter starts in December
    if rel == "next":
        return day.year + 1 if started or (first == 12 and day.month == 12) else day.year
    if rel == "last":
        ended = day.month >= first + 3 if first != 12 else False
        return day.year if ended else day.year - 1
    if rel == "this" or when != "past":
        return day.year
    return day.year if started else day.year - 1


def iso_month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"  # iso_month(2023, 6) -> '2023-06'


def resolve_unit(unit: str, rel: str, day: date) -> str:
    """``resolve_unit('week', 'last', date(2020, 2, 19)) -> '2020-02-10'`` (its Monday); month, quarter, year alike."""
    step = {"last": -1, "past": -1, "this": 0, "next": 1}[rel]
    if unit in ("week", "weekend"):
        start = monday(day) + timedelta(weeks=step)
        return (start + timedelta(days=5)).isoformat() if unit == "weekend" else start.isoformat()
    if unit == "month":
        return iso_month(*shift_months(day, step))
    if unit == "quarter":
        return iso_month(*shift_months(date(day.year, (day.month - 1) // 3 * 3 + 1, 1), 3 * step))
    return f"{day.year + step:04d}"  # year, season (a sports season is named by the year it ends)


RESOLVERS = {
    "wd_month_day": lambda m, d, t: day_near(d, month_number(m["mon"]), int(m["day"]), t, WEEKDAYS.index(m["wd"].lower())),
    "month_day": lambda m, d, t: day_near(d, month_number(m["mon"]), int(m["day"]), t),
    "day_month": lambda m, d, t: day_near(d, month_number(m["mon"]), int(m["day"]), t) if int(m["day"]) <= 31 else "",
    "ago": lambda m, d, t: ago(d, number(m["n"]), m["unit"].lower(), bool(m["today"]), bool(m["thisweek"])),
    "year_earlier": lambda m, d, t: ago(d, number(m["n"]) * (1 if m["dir"].lower() == "earlier" else -1),
                                        m["unit2"].lower(), False, False),
    "month_rel_year": lambda m, d, t: iso_month(d.year + {"last": -1, "this": 0, "next": 1}[m["rel"].lower()], month_number(m["mon"])),
    "end_of": lambda m, d, t: resolve_unit(m["unit"].lower(), m["rel"].lower(), d),
    "end_of_month": lambda m, d, t: iso_month(month_near(d, month_number(m["mon"]), t), month_number(m["mon"])),
    "part_rel": lambda m, d, t: resolve_unit(m["unit"].lower(), m["rel"].lower(), d),
    "rel_unit": lambda m, d, t: resolve_unit(m["unit"].lower(), m["rel"].lower(), d),
    "rel_season": lambda m, d, t: f"{season_year(d, m['season'].lower(), m['rel'].lower(), t):04d}",
    "the_season": lambda m, d, t: f"{season_year(d, m['season'].lower(), 'next' if t == 'future' else 'last', t):04d}",
    "rel_wd": lambda m, d, t: rel_weekday(d, WEEKDAYS.index(m["wd"].lower()), m["rel"].lower(), t),
    "day_word": lambda m, d, t: (d + timedelta(days={"yesterday": -1, "tomorrow": 1}.get(m["word"].lower(), 0))).isoformat(),
    "weekday": lambda m, d, t: weekday_near(d, WEEKDAYS.index(m["wd"].lower()), t).isoformat(),
    "month": lambda m, d, t: iso_month(month_near(d, month_number(m["mon"]), t), month_number(m["mon"])),
}


def ago(day: date, n: int, unit: str, today: bool, this_week: bool) -> str:
    """``ago(date(2021, 7, 18), 1, 'year', False, False) -> '2020'``; "10 years ago today" keeps the day."""
    if unit == "day":
        return (day - timedelta(days=n)).isoformat()
    if unit == "week":
        return (day - timedelta(weeks=n)).isoformat()
    if unit == "month":
        return iso_month(*shift_months(day, -n))
    years = n * (10 if unit == "decade" else 1)
    if today or this_week:
        try:
            then = day.replace(year=day.year - years)
        except ValueError:  # 29 February
            then = day.replace(year=day.year - years, day=28)
        return (monday(then) if this_week else then).isoformat()
    return f"{day.year - years:04d}"


def rel_weekday(day: date, weekday: int, rel: str, when: str) -> str:
    """"last Monday" is the one before the article's day, "next Monday" the one after, "this Monday" by tense."""
    if rel == "last":
        return (day - timedelta(days=(day.weekday() - weekday) % 7 or 7)).isoformat()
    if rel in ("next", "coming"):
        return (day + timedelta(days=(weekday - day.weekday()) % 7 or 7)).isoformat()
    return weekday_near(day, weekday, when).isoformat()


def shown_as(kind: str, iso: str, match: re.Match) -> str:
    """How a resolved date is written beside its words: a day or month as people write it, a week by its Monday,
    a quarter by name, a season with its year."""
    if kind in ("rel_unit", "end_of", "part_rel") and match["unit"].lower() in ("week",) and len(iso) == 10:
        return f"the week of {spoken_date(iso)}"
    if kind in ("rel_unit", "end_of", "part_rel") and match["unit"].lower() == "quarter":
        year, month = iso.split("-")
        return f"the {QUARTERS[(int(month) - 1) // 3]} quarter of {year}"
    if kind in ("rel_season", "the_season"):
        return f"{match['season'].lower()} {iso}"
    if kind == "ago" and match["thisweek"]:
        return f"the week of {spoken_date(iso)}"
    return spoken_date(iso)

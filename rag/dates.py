"""Dates: an article's publication date, read from whatever form it comes in, kept as ISO text.

A date is stored as ``YYYY-MM-DD``, or ``YYYY-MM`` / ``YYYY`` when that is all that is known, and is
absent (``""``) when unknown. Every reader (front matter, HTML and PDF metadata, Word and e-book
properties, a dated first line such as ``Jul 28, 2019 ...``) goes through ``parse_date``, so one rule
decides what counts as a date; the model sees it spoken (``28 July 2019``, ``spoken_date``).
"""
from __future__ import annotations

import re
from datetime import date, datetime

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
MONTH = r"(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
YEAR = r"(?P<year>1[89]\d\d|2[01]\d\d)"
DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
PATTERNS = [re.compile(p, re.I) for p in (
    rf"^D?:?{YEAR}(?P<mnum>[01]\d)(?P<dnum>[0-3]\d)",  # PDF "D:20190728103000+02'00'", compact 20190728
    rf"^{YEAR}[-/.](?P<mnum>[01]?\d)(?:[-/.](?P<dnum>[0-3]?\d))?(?!\d)",  # 2019-07-28, 2019/7/28, 2019-07
    rf"^(?:[a-z]+,?\s+)?{MONTH}\s+{DAY},?\s+{YEAR}\b",  # Jul 28, 2019 · Sunday, July 28th 2019
    rf"^(?:[a-z]+,?\s+)?{DAY}\s+{MONTH},?\s+{YEAR}\b",  # 28 July 2019 · Sun, 28 Jul 2019 10:00:00 GMT
    rf"^{MONTH}\s+{YEAR}\b",  # July 2019
    rf"^{YEAR}\s*年\s*(?P<mnum>[01]?\d)\s*月(?:\s*(?P<dnum>[0-3]?\d)\s*[日号])?",  # 2019年7月28日, 2019年7月
    rf"^{YEAR}$",  # 2019
)]
LEADING = re.compile(r"^\s*(?:(?P<date>[A-Za-z]{3,9}\.? [0-3]?\d, \d{4}|[0-3]?\d [A-Za-z]{3,9}\.? \d{4}|\d{4}-\d\d-\d\d)"
                     r"\s*(?:\.\.\.|…|[-–—|·:])|(?P<zh>\d{4}年[01]?\d月[0-3]?\d[日号])\s*(?:\.\.\.|…|[-–—|·:：\s]))")


def month_number(name: str) -> int:
    """A month's number from its name or abbreviation: ``month_number('Sept.') -> 9``; ``month_number('May') -> 5``."""
    key = name.lower().rstrip(".")[:3]
    return next(i for i, full in enumerate(MONTHS, 1) if full.startswith(key))


def parse_date(value) -> str:
    """ISO date (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``) of a date written in a common form, else ''.

    ``parse_date('Jul 28, 2019') -> '2019-07-28'``; ``parse_date("D:20190728103000+02'00'") -> '2019-07-28'``;
    ``parse_date('July 2019') -> '2019-07'``; ``parse_date('2019') -> '2019'``; ``parse_date('soon') -> ''``;
    ``parse_date('2019年7月28日') -> '2019-07-28'``;
    impossible dates (``2019-02-30``) give ''.
    """
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    text = str(value or "").strip()
    for pattern in PATTERNS:
        match = pattern.match(text)
        if match:
            return from_parts(match.groupdict())
    return ""


def from_parts(parts: dict) -> str:
    """ISO text of matched year/month/day parts, '' when they make no real date.

    ``from_parts({'year': '2019', 'month': 'Jul', 'day': '28'}) -> '2019-07-28'``
    """
    year = int(parts["year"])
    if parts.get("month"):
        month = month_number(parts["month"])
    else:
        month = int(parts["mnum"]) if parts.get("mnum") else 0
    day = int(parts.get("day") or parts.get("dnum") or 0)
    if not month:
        return f"{year:04d}"
    try:
        date(year, month, day or 1)
    except ValueError:
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}" if day else f"{year:04d}-{month:02d}"


def leading_date(text: str) -> str:
    """The date a text opens with, as search snippets and wire copy do, else ''.

    ``leading_date('Jul 28, 2019 ... The ministry said') -> '2019-07-28'``;
    ``leading_date('In July 2019 the ministry said') -> ''`` (a date inside a sentence is not the article's).
    """
    match = LEADING.match(text[:60])
    return parse_date(match.group("date") or match.group("zh")) if match else ""


def spoken_date(iso: str) -> str:
    """An ISO date as people write it: ``spoken_date('2019-07-28') -> '28 July 2019'``, ``'2019-07' -> 'July 2019'``.

    Anything that is not an ISO date is returned as it is (``spoken_date('') -> ''``).
    """
    match = re.fullmatch(r"(\d{4})(?:-(\d\d))?(?:-(\d\d))?", iso or "")
    if not match or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        return iso or ""
    year, month, day = match.groups()
    if not month:
        return year
    name = MONTHS[int(month) - 1].capitalize()
    return f"{int(day)} {name} {year}" if day else f"{name} {year}"


def first_date(*candidates) -> str:
    """The first candidate that parses as a date: ``first_date(None, 'n/a', '2019-07-28') -> '2019-07-28'``."""
    for candidate in candidates:
        found = parse_date(candidate)
        if found:
            return found
    return ""


def shown_date(passage) -> str:
    """A passage's article date as the model reads it (``28 July 2019``); none when the passage opens with it.

    ``shown_date(Passage(date='2019-07-28', text='Jul 28, 2019 ... Rain.', …)) -> ''`` (a search snippet says it already)
    """
    return "" if not passage.date or leading_date(passage.text) == passage.date else spoken_date(passage.date)


# A news dateline: the place in capitals, then the day it was filed ("HARWICK, April 16 - ").
DATELINE = re.compile(r"(?P<place>[A-Z][A-Z .'-]{2,})(?P<day>, [A-Z][\w.]*(?: \d{1,2})?)?(?P<dash>\s+[-–—]\s+)")


def without_filing_day(text: str, published: str) -> str:
    """The text with its dateline's day left out and its place kept, when that day is the article's date
    (published, ISO), which the source's heading shows: asked "on what date did the council vote?", the model
    copied the dateline's day (the report's) and not the day the text gives the vote ("on Tuesday, 11 September
    2018"); measured in docs/time.md.

    ``without_filing_day('DUNMORE, Sept 12 - The council on Tuesday approved it.', '2018-09-12') -> 'DUNMORE - The
    council on Tuesday approved it.'`` (with '2018-09-14' the text stays as it is)
    """
    found = DATELINE.match(text)
    if not found or not found.group("day") or parse_date(f"{found.group('day')[2:]} {published[:4]}") != published:
        return text
    return found.group("place") + found.group("dash") + text[found.end():]


def heading(title: str, date: str) -> str:
    """A source's heading: ``heading('Rates rise', '28 July 2019') -> 'Rates rise — 28 July 2019'``; either may be ''."""
    return " — ".join(part for part in (title, date) if part)

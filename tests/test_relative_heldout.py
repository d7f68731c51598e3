"""The held-out relative-date set (tests/data/temporal/relative_dates_heldout.jsonl) is well formed.

Each line is a news sentence with its publication day and its relative time expressions resolved by hand to
an ISO date at the expression's precision (a day, a week as its Monday, a month, a quarter as its first month,
a year). Checked here: every line parses, the words are in the sentence, the dates are valid ISO, a named
weekday falls on that weekday, a day's kind follows from the publication day, and the set is big enough to
measure. The sentences are not checked against their sources, which live outside the repository (RGB's
en_fact.json and Wikinews); the README names them. No model is loaded.
"""
import json
import re
from datetime import date
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "temporal"
HELDOUT = DATA / "relative_dates_heldout.jsonl"
LINES = HELDOUT.read_text(encoding="utf-8").splitlines()
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KINDS = ("past", "present", "future")
SOURCE = re.compile(r"RGB en_fact\.json \d+|Wikinews https://en\.wikinews\.org/wiki/\S+")


def iso_span(when: str) -> tuple[date, date]:
    """The first and last day an ISO date at its precision covers.

    iso_span("2019-09-23") -> (2019-09-23, 2019-09-23); iso_span("2019-07") -> (2019-07-01, 2019-07-31);
    iso_span("2018") -> (2018-01-01, 2018-12-31). Raises ValueError for anything else ("2019-13", "19").
    """
    if re.fullmatch(r"\d{4}-\d\d-\d\d", when):
        day = date.fromisoformat(when)
        return day, day
    if re.fullmatch(r"\d{4}-\d\d", when):
        first = date.fromisoformat(when + "-01")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, date.fromordinal(following.toordinal() - 1)
    if re.fullmatch(r"\d{4}", when):
        return date(int(when), 1, 1), date(int(when), 12, 31)
    raise ValueError(f"not an ISO date at day, month or year precision: {when!r}")


def test_iso_span():
    assert iso_span("2019-09-23") == (date(2019, 9, 23), date(2019, 9, 23))
    assert iso_span("2019-12") == (date(2019, 12, 1), date(2019, 12, 31))
    assert iso_span("2020-02") == (date(2020, 2, 1), date(2020, 2, 29))
    assert iso_span("1119") == (date(1119, 1, 1), date(1119, 12, 31))
    for bad in ("2019-13", "2019-02-30", "19", "2019-W38", "last week"):
        with pytest.raises(ValueError):
            iso_span(bad)


@pytest.mark.parametrize("line", LINES, ids=[f"line{n}" for n in range(1, len(LINES) + 1)])
def test_heldout_sentence(line):
    entry = json.loads(line)
    assert set(entry) == {"text", "published", "expressions", "source"}
    assert entry["text"].strip() == entry["text"] and entry["text"]
    assert SOURCE.fullmatch(entry["source"]), entry["source"]
    published = date.fromisoformat(entry["published"])
    for expression in entry["expressions"]:
        assert set(expression) == {"words", "date", "kind"}
        words, when, kind = expression["words"], expression["date"], expression["kind"]
        assert entry["text"].count(words) == 1, f"{words!r} is not once in the sentence"
        first, last = iso_span(when)
        assert kind in KINDS
        named = [day for day in WEEKDAYS if day in words.lower()]
        if named and "week" not in words.lower():
            assert first.weekday() == WEEKDAYS.index(named[0]), f"{words!r} is not {when}"
        if re.search(r"(?i)\bweek\b", words) and "ago" not in words:  # a week is written as its Monday
            assert len(when) == 10 and first.weekday() == 0, f"{words!r}: {when} is not a Monday"
            last = date.fromordinal(first.toordinal() + 6)
        elif len(when) == 10:  # a day: its kind follows from the publication day
            assert kind == ("past" if first < published else "future" if first > published else "present"), words
        if kind == "past":  # whatever the precision, a past referent starts before the publication day
            assert first < published, words
        if kind == "future":
            assert last > published, words


def test_heldout_sizes():
    entries = [json.loads(line) for line in LINES]
    expressions = [x for e in entries for x in e["expressions"]]
    assert len(expressions) >= 80
    assert sum(not e["expressions"] for e in entries) >= 20, "sentences without any, for false positives"
    assert {x["kind"] for x in expressions} == set(KINDS)
    assert len({e["text"] for e in entries}) == len(entries), "no sentence twice"


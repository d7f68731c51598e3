"""Dates: one rule for what counts as a publication date, and how the model reads it."""
from datetime import datetime

import pytest

from rag.dates import first_date, leading_date, parse_date, spoken_date


@pytest.mark.parametrize("raw, iso", [
    ("2019-07-28", "2019-07-28"),
    ("2019-07-28T10:15:00+02:00", "2019-07-28"),
    ("2019/7/3", "2019-07-03"),
    ("2019-07", "2019-07"),
    ("2019", "2019"),
    ("Jul 28, 2019", "2019-07-28"),
    ("July 28th, 2019", "2019-07-28"),
    ("Sunday, July 28, 2019", "2019-07-28"),
    ("28 July 2019", "2019-07-28"),
    ("Sun, 28 Jul 2019 10:00:00 GMT", "2019-07-28"),  # RSS
    ("Sept. 5, 2019", "2019-09-05"),
    ("July 2019", "2019-07"),
    ("D:20190728103000+02'00'", "2019-07-28"),  # PDF
    (datetime(2019, 7, 28, 9, 30), "2019-07-28"),  # python-docx core properties
    ("  2019-07-28 ", "2019-07-28"),
])
def test_parse_date_reads_the_common_forms(raw, iso):
    assert parse_date(raw) == iso


@pytest.mark.parametrize("raw", ["", None, "soon", "2019-02-30", "2019-13-01", "Foo 28, 2019", "3 days ago", "12345"])
def test_parse_date_gives_nothing_for_what_is_not_a_date(raw):
    assert parse_date(raw) == ""


@pytest.mark.parametrize("text, iso", [
    ("Jan 22, 2021 ... Super Bowl LV will be played in Tampa Bay", "2021-01-22"),  # the RGB snippets
    ("Aug 9, 2021 ... August 9, 2021 | 1:15 PM EDT.", "2021-08-09"),
    ("28 July 2019 — The ministry said", "2019-07-28"),
    ("2019-07-28 | Reuters", "2019-07-28"),
    ("In July 2019 the ministry said", ""),
    ("3 days ago ... Here's the plan", ""),
    ("The ministry said on Jul 28, 2019 ... that", ""),
    ("Jul 28, 2019 was a Sunday", ""),  # a sentence that starts with a date is not a dateline
])
def test_leading_date_reads_only_a_dateline(text, iso):
    assert leading_date(text) == iso


@pytest.mark.parametrize("iso, spoken", [
    ("2019-07-28", "28 July 2019"), ("2019-07-03", "3 July 2019"), ("2019-07", "July 2019"), ("2019", "2019"),
    ("", ""), ("not a date", "not a date"),
])
def test_spoken_date(iso, spoken):
    assert spoken_date(iso) == spoken


def test_first_date_takes_the_first_that_parses():
    assert first_date(None, "n/a", "Jul 28, 2019", "2020") == "2019-07-28"
    assert first_date("", None) == ""

"""The temporal test set (tests/temporal.jsonl) and its dated collection are well formed and true to the text.

The collection (tests/data/temporal/corpus) holds invented wire articles with front matter and real RGB news
snippets that open with their date; every evidence quote is text of one of them as the pipeline reads it
(rag.documents.load_document strips the front matter), every article has a date, every question type is
known and asked at least five times, in both folds of the project's hash split. relative_dates.jsonl holds
news sentences with their relative time expressions resolved by hand: the words are in the sentence, the
sentence is in its source, a named weekday falls on that weekday. No model is loaded.
"""
import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from rag.dates import leading_date, parse_date
from rag.documents import FRONT_MATTER, find_documents, load_document
from rag.evaluation.metrics import fold, names
from rag.evaluation.retrieval import split_folds
from rag.evaluation.testset import load_testset
from rag.readers import front_matter

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "temporal"
CORPUS = DATA / "corpus"
TESTSET = ROOT / "tests" / "temporal.jsonl"
RELATIVE = DATA / "relative_dates.jsonl"
TYPES = {"current", "as_of", "interval", "before_after", "relative", "timeline", "latest", "unanswerable_period"}
KEYS = {"id", "question", "answer", "answerable", "evidence", "keywords", "type", "today"}
UNANSWERABLE_ANSWER = "The articles do not say."
ISO = re.compile(r"\d{4}(?:-\d\d(?:-\d\d)?)?")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
RELATIVE_LINES = RELATIVE.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return load_testset(TESTSET)


@pytest.fixture(scope="module")
def documents() -> dict:
    """source name (relative to the collection) -> Document, as ingestion reads it."""
    return {doc.source: doc for doc in (load_document(path, CORPUS) for path in find_documents([CORPUS]))}


def test_items_are_well_formed(items):
    ids = [item["id"] for item in items]
    assert len(set(ids)) == len(ids), "ids are unique"
    assert len({item["question"] for item in items}) == len(items), "questions are unique"
    for item in items:
        assert set(item) - {"history"} <= KEYS, f"{item['id']}: unknown keys {set(item) - KEYS}"
        assert re.fullmatch(r"t\d{3}|tr\d{2}", item["id"]), item["id"]
        assert item["type"] in TYPES, f"{item['id']}: unknown type {item['type']!r}"
        assert item["question"].strip() and item["answer"].strip()
        if "today" in item:  # only where the question's words depend on the day it is asked
            assert date.fromisoformat(item["today"]), item["id"]
            assert re.search(r"\b(this|last|next) (year|month|week|season)\b", item["question"]), item["id"]


def test_types_sizes_and_unanswerable_share(items):
    invented = [item for item in items if re.fullmatch(r"t\d{3}", item["id"])]
    real = [item for item in items if item["id"].startswith("tr")]
    assert len(invented) >= 48 and 8 <= len(real) <= 12
    counts = Counter(item["type"] for item in invented)
    assert set(counts) == TYPES and min(counts.values()) >= 5, counts
    unanswerable = [item for item in items if not item["answerable"]]
    assert 0.10 <= len(unanswerable) / len(items) <= 0.20
    for item in items:  # an unanswerable question is exactly one about a period no article covers
        assert (item["type"] == "unanswerable_period") == (not item["answerable"]), item["id"]


def test_every_type_is_in_both_folds(items):
    """Rules are chosen on one fold of split_folds and confirmed on the other, so each fold needs each type."""
    for k, part in enumerate(split_folds(items)):
        missing = TYPES - {item["type"] for item in part}
        assert not missing, f"fold {k} has no {sorted(missing)}"


def test_answers_evidence_and_keywords(items, documents):
    for item in items:
        if not item["answerable"]:
            assert not item["evidence"] and not item["keywords"] and item["answer"] == UNANSWERABLE_ANSWER, item["id"]
            continue
        assert item["evidence"] and item["keywords"], item["id"]
        for quote in item["evidence"]:
            holders = [source for source, doc in documents.items() if quote in doc.text]
            assert holders, f"{item['id']}: evidence is in no article: {quote!r}"
            assert all(s.startswith("rgb/") == item["id"].startswith("tr") for s in holders), (item["id"], holders)
        answer = fold(item["answer"])
        for group in item["keywords"]:  # keyword_recall's own rule: whole words, `*` a prefix, not negated
            assert any(names(answer, k) for k in group), f"{item['id']}: the reference answer misses {group}"
        if item["type"] == "relative":  # the answer is an absolute date, so one spelling is ISO
            assert any(ISO.fullmatch(k) and parse_date(k) == k for k in item["keywords"][0]), item["id"]


def test_every_article_has_front_matter_and_a_date(documents):
    assert len(documents) >= 30 + 30
    for source, doc in documents.items():
        if source.startswith("rgb/"):
            assert doc.date and leading_date(doc.text) == doc.date, source
            continue
        raw = (CORPUS / source).read_text(encoding="utf-8")
        match = FRONT_MATTER.match(raw)
        assert match, f"{source}: no front matter"
        fields = front_matter(match.group(1))
        assert set(fields) == {"title", "date"}, source
        assert parse_date(fields["date"]) == fields["date"] == doc.date and len(doc.date) == 10, source
        assert doc.title == fields["title"], source
        assert 120 <= len(doc.text.split()) <= 400, f"{source}: {len(doc.text.split())} words"


@pytest.mark.parametrize("line", RELATIVE_LINES, ids=lambda line: json.loads(line)["source"].split("/")[-1])
def test_relative_date_sentence(line):
    entry = json.loads(line)
    assert set(entry) == {"text", "published", "expressions", "source"}
    published = date.fromisoformat(entry["published"])
    source = load_document(DATA / entry["source"], (DATA / entry["source"]).parent)
    assert entry["text"] in source.text and source.date == entry["published"]
    for expression in entry["expressions"]:
        assert set(expression) == {"words", "date", "kind"}
        words, when = expression["words"], expression["date"]
        assert entry["text"].count(words) == 1, f"{words!r} is not once in the sentence"
        assert ISO.fullmatch(when) and parse_date(when) == when, when
        assert expression["kind"] in ("past", "present", "future")
        named = [day for day in WEEKDAYS if day in words.lower()]
        if named and "week" not in words.lower():
            assert date.fromisoformat(when).weekday() == WEEKDAYS.index(named[0]), f"{words!r} is not {when}"
        if re.fullmatch(r"(?i)(this|last|next) week", words):  # a week is written as its Monday
            assert date.fromisoformat(when).weekday() == 0
        if len(when) == 10 and not re.search(r"(?i)\bweek\b", words):  # a day: its kind follows from the date
            day = date.fromisoformat(when)
            assert expression["kind"] == ("past" if day < published else "future" if day > published else "present")


def test_relative_dates_sizes():
    entries = [json.loads(line) for line in RELATIVE_LINES]
    assert len(entries) >= 60
    assert sum("/rgb/" in e["source"] for e in entries) >= 30, "at least 30 from real news"
    assert sum(not e["expressions"] for e in entries) >= 5, "sentences without any, for false positives"


def test_the_event_questions_are_true_to_the_text(documents):
    """events.jsonl: before/after questions placed by an event, written after the event rule to check it on
    questions it was not built on (docs/time.md)."""
    events = load_testset(DATA / "events.jsonl")
    assert len(events) >= 7 and {item["type"] for item in events} == {"before_after"}
    for item in events:
        assert re.fullmatch(r"e\d{2}", item["id"]) and item["answerable"] and set(item) - {"history"} <= KEYS, item["id"]
        for quote in item["evidence"]:
            assert any(quote in doc.text for doc in documents.values()), f"{item['id']}: {quote!r} is in no article"
        answer = fold(item["answer"])
        assert all(any(names(answer, k) for k in group) for group in item["keywords"]), item["id"]

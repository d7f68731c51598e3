"""Time in questions (rag/when.py) and the passages' dates against it (rag/chronology.py), timelines (rag/timeline.py)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from rag.chronology import about, coverage, distance, lead, order, subject, uncovered, written_by_then
from rag.retrieval import Passage
from rag.timeline import event_date, events, lines
from rag.when import TimeFrame, is_stative, period_words, read_question

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 12, 7)


def passage(day: str, text: str = "Harwick Rail news.", title: str = "Harwick Rail", doc: str = "") -> Passage:
    return Passage(f"{doc or day}-c", doc or day, title, f"{doc or day}.md", text, 0, len(text), date=day)


@pytest.mark.parametrize("question, kind, start, end, as_of", [
    ("Who was the boss of Harwick Rail during 2020?", "period", "2020-01-01", "2020-12-31", False),
    ("Who was running Harwick Rail in March 2023?", "period", "2023-03-01", "2023-03-31", False),
    ("How deep was the borehole as of late January 2022?", "period", "", "2022-01-31", True),
    ("Who held the record before March 2021?", "period", "", "2021-02-28", True),
    ("What has changed since 2019?", "history", "", "", False),
    ("Who led it between 2019 and 2021?", "period", "2019-01-01", "2021-12-31", False),
    ("In mid-2021, when was the line supposed to open?", "period", "2021-05-01", "2021-08-31", False),
    ("Who became chief executive last year?", "period", "2025-01-01", "2025-12-31", False),
    ("Who is in charge of Harwick Rail these days?", "now", "", "", False),
    ("Who heads the train maker Hartwick Railworks?", "now", "", "", False),
    ("What's the latest news about Harwick Rail?", "latest", "", "", False),
    ("How has the cost estimate for the hospital changed?", "history", "", "", False),
    ("Who won the 2018 Tour de France?", "", "", "", False),  # an edition, not a time: the numbers rule's
    ("Which film won best picture at the 2019 Oscars?", "", "", "", False),
    ("When does the iPhone 11 release?", "", "", "", False),  # present tense, but an event's date: not "now"
    ("What is the date of the 2021 NBA Draft?", "", "", "", False),  # a named year's edition
    ("Did the line open in spring 2026 as planned?", "period", "2026-03-01", "2026-05-31", False),
    ("Before the 2024 revision, when was it to open?", "period", "", "2023-12-31", True),  # a year's event as anchor
    ("What changed after the 2019 election?", "period", "2019-01-01", "", False),
    ("What happened before the 2016 Olympics?", "", "", "", False),  # a capital: an edition's name, as before
])
def test_read_question(question, kind, start, end, as_of):
    frame = read_question(question, TODAY)
    assert (frame.kind, frame.start, frame.end, frame.as_of) == (kind, start, end, as_of)


def test_every_temporal_set_question_of_a_time_type_gets_a_frame():
    # judged by the set's own labels (tests/temporal.jsonl): "current" asks about now, "latest" about the newest,
    # "timeline" for a history; "interval" and "as_of" questions name a time of their own
    expected = {"current": {"now"}, "latest": {"latest"}, "timeline": {"history"}, "as_of": {"period"},
                "interval": {"period"}}
    for line in (ROOT / "tests" / "temporal.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["type"] in expected:
            today = date.fromisoformat(item.get("today", TODAY.isoformat()))
            assert read_question(item["question"], today).kind in expected[item["type"]], item["question"]


@pytest.mark.parametrize("question, stative", [
    ("Who was the boss of Harwick Rail during 2020?", True), ("Who was managing Fenwick Rovers in 2021?", True),
    ("What were the fishing rules during 2021?", True), ("Who won the Tour de France in 2020?", False),
    ("Who was elected in 2020?", False), ("Which company got an export licence in 2022?", False)])
def test_is_stative(question, stative):
    assert is_stative(question) is stative


def test_period_words_name_the_asked_time():
    assert period_words(read_question("Who led it in spring 2026?", TODAY)) == "spring 2026"
    assert period_words(read_question("What changed this year?", date(2026, 3, 1))) == "this year (2026)"


def test_distance_to_a_period_and_to_an_as_of_date():
    period = TimeFrame("period", "2020-01-01", "2020-12-31")
    assert distance(period, "2021-03-08") == 67 and distance(period, "2020-06-01") == 0
    assert distance(period, "2021-06-01", "It was founded in 2020.") == 90  # an article looking back at it
    assert distance(period, "2019-12-01", "It is to open in 2020.") == 31  # a plan for it is no report of it
    assert distance(TimeFrame("period", "2020-03-01", "2020-03-31"), "2021-06-01", "In 2020 it rose.") == 427  # a month
    assert distance(period, "") is None
    as_of = TimeFrame("period", "", "2022-03-31", True)
    assert distance(as_of, "2022-01-26") < distance(as_of, "2021-08-16") < distance(as_of, "2023-05-09")


def test_now_puts_the_newest_article_on_the_subject_first_and_keeps_the_rest_by_relevance():
    passages = [passage("2019-11-06"), passage("2024-05-22", "Hartwick Railworks named Osei.", "Hartwick Railworks"),
                passage("2023-06-19"), passage("2021-09-22")]
    on_subject = about(subject("Who leads Harwick Rail?", TimeFrame("now")))
    ordered = order(passages, TimeFrame("now"), on_subject)
    assert [p.date for p in ordered] == ["2023-06-19", "2021-09-22", "2019-11-06", "2024-05-22"]
    assert order(passages, TimeFrame("now"), lambda p: False) == passages  # nothing on the subject: unchanged
    assert order(passages, TimeFrame(), on_subject) == passages


def test_a_question_about_a_past_state_reads_the_articles_of_that_time():
    passages = [passage("2018-09-12", "Estimated to cost 640 million."),
                passage("2020-05-27", "The estimate rose to 735 million."),
                passage("2022-10-19", "chief executive Marek Novak said."),
                passage("2025-06-11", "Ingrid Solberg, who became chief executive in January."),
                passage("2025-07-01", "The line was delayed for a second time in 2022."),  # looks back at 2022
                passage("2025-08-01", "Off the subject.", doc="other")]
    on_subject = lambda p: p.doc_id != "other"  # noqa: E731
    kept = lambda question, given=passages: [p.date for p in written_by_then(given, read_question(question, TODAY), on_subject)]  # noqa: E731
    # in the period, the newest before it, and a later one looking back; the older one and the later ones left out
    assert kept("Who led Harwick Rail in 2022?") == ["2020-05-27", "2022-10-19", "2025-07-01", "2025-08-01"]
    assert kept("What was the estimated cost as of 2021?") == ["2020-05-27", "2025-08-01"]  # the newest by then
    assert kept("Who was running Harwick Rail as of March 2023?") == ["2022-10-19", "2025-08-01"]
    # nothing on the subject written by then: all are kept (the refusal rule decides)
    assert kept("Who led Harwick Rail in 2015?") == [p.date for p in passages]
    # events, "now" and questions with no time keep every passage
    for frame in (read_question("Who won the title in 2022?", TODAY), TimeFrame("now"), TimeFrame()):
        assert written_by_then(passages, frame, on_subject) == passages


def test_a_name_of_several_words_is_on_the_subject_only_with_all_its_words():
    on_subject = about(subject("Who runs the Dunmore Transit Authority now?", TimeFrame("now")),
                       {"a": "Dunmore Transit Authority testing", "b": "the regional transport authority"})
    assert on_subject(passage("2025-06-11", "chief executive", doc="a"))  # its article names it
    assert not on_subject(passage("2025-04-16", "the authority said", doc="b"))


def test_coverage_of_a_period():
    frame = TimeFrame("period", "2020-01-01", "2020-12-31")
    assert coverage(frame, [passage("2019-11-06"), passage("2021-09-22")])[:2] == (False, True)
    assert coverage(frame, [passage("2020-05-27")])[:2] == (True, False)
    assert coverage(frame, [passage("2021-07-18", "He won a year ago [2020].")])[0]
    assert coverage(TimeFrame("period", "", "2017-12-31", True), [passage("2018-03-14")])[0] is False


@pytest.mark.parametrize("question, dates, reason", [
    ("Who was chief executive of Harwick Rail in 2015?", ["2018-03-14", "2025-04-16"],
     "The articles on Harwick Rail run from 14 March 2018 to 16 April 2025; none is from 2015."),
    ("Who was the boss of Harwick Rail during 2020?", ["2019-11-06", "2021-09-22"], ""),  # a state, bracketed
    ("Who won the women's singles at Wimbledon in 2019?", ["2018-07-14", "2022-07-09"],  # an event: not enough
     "The articles on Wimbledon run from 14 July 2018 to 9 July 2022; none is from 2019."),
    ("Who led Harwick Rail in 2020?", ["", ""], ""),  # undated articles: the numbers rule decides, as before
])
def test_uncovered_names_the_period_the_articles_cover(question, dates, reason):
    frame = read_question(question, TODAY)
    pool = [passage(day, "Harwick Rail and Wimbledon news, no year named.", doc=str(n)) for n, day in enumerate(dates)]
    assert uncovered(question, frame, pool, lambda p: True) == reason


def test_a_timeline_is_the_best_dated_sentence_of_each_article_oldest_first():
    pool = [passage("2021-03-17", "Rain fell. The Ostvale hospital will now cost 480 million euros.", doc="b"),
            passage("2019-02-13", "Ostvale approved the hospital at a cost of 410 million euros on Tuesday.", doc="a"),
            passage("2022-11-23", "Nothing about it here.", doc="c"), passage("", "Undated: 999 million.", doc="d")]
    found = events("How has the cost of the Ostvale hospital changed?", pool, lambda p: True, 8)
    assert [e.date for e in found] == ["2019-02-12", "2021-03-17"]  # "on Tuesday" dates the first event
    assert lines(found) == ("- 12 February 2019: Ostvale approved the hospital at a cost of 410 million euros on Tuesday. [1]\n"
                            "- 17 March 2021: The Ostvale hospital will now cost 480 million euros. [2]")
    event = found[1].passage
    assert pool[0].text[event.start - pool[0].start:event.end - pool[0].start] == event.text  # offsets into the article
    assert event_date("It rained.", "2021-03-17") == "2021-03-17"


def test_a_long_story_keeps_its_first_and_last_events_within_the_limit():
    pool = [passage(f"{2005 + i}-03-01", f"The Marsh Bridge cost {300 + i} million.", doc=str(i)) for i in range(20)]
    found = events("How has the Marsh Bridge cost changed?", pool, lambda p: True, 8)
    assert len(found) == 8 and found[0].date == "2005-03-01" and found[-1].date == "2024-03-01"
    assert [e.date for e in found] == sorted(e.date for e in found)


def test_an_article_is_about_what_its_lead_names():
    article = "Westvale hospital wing opens\nWESTVALE, Sept 7 - Westvale's new wing opened. " + "x " * 300 + \
        "It is often compared with the rebuild of Ostvale General Hospital."
    on_subject = about(subject("When was the Ostvale hospital to open?", TimeFrame("now")), {"w": article})
    leading = about(subject("When was the Ostvale hospital to open?", TimeFrame("now")), {"w": lead(article)})
    assert on_subject(passage("2023-09-07", doc="w")) and not leading(passage("2023-09-07", doc="w"))


def test_the_newest_article_before_a_past_state_is_one_that_leads_with_the_subject():
    passages = [passage("2021-03-17", "The opening slipped to 2025.", doc="o1"),
                passage("2022-11-23", "The opening date of 2025 still held.", doc="o2"),
                passage("2023-09-07", "Westvale's wing opened; Ostvale's rebuild costs more.", doc="w")]
    leading = lambda p: p.doc_id != "w"  # noqa: E731  (the Westvale article names Ostvale only in passing)
    frame = read_question("Before the 2024 revision, when was the hospital to open?", TODAY)
    assert [p.doc_id for p in written_by_then(passages, frame, lambda p: True, leading)] == ["o2"]
    assert [p.doc_id for p in written_by_then(passages, frame, lambda p: True)] == ["w"]  # without the lead test


@pytest.mark.parametrize("question, anchor", [
    ("Who ran Harwick Rail before Tomas Brandt arrived?", ("before", "Tomas Brandt arrived")),
    ("After the tunnel flooding, what delayed the Northgate-Kelby line next?", ("after", "the tunnel flooding")),
    ("Who has led the club since the merger?", ("after", "the merger")),
    ("What was the rule until the court ruling?", ("before", "the court ruling")),
    ("What happened after that?", ("", "")),  # no event: a pronoun
    ("Who is the ship named after?", ("", "")),  # no time at all
    ("Who was in charge before then?", ("", "")),
])
def test_a_time_placed_by_an_event(question, anchor):
    from rag.when import event_anchor
    assert event_anchor(question) == anchor


def test_an_event_is_dated_by_the_first_article_whose_sentence_tells_it():
    from rag.chronology import day_reported
    articles = [("2021-09-22", "Harwick Rail chief defends cuts as new trains arrive late\nChief executive Tomas Brandt "
                               "defended the cuts."),
                ("2018-03-14", "Harwick Rail appoints Tomas Brandt as chief executive\nThe operator appointed him."),
                ("2023-02-08", "Harwick Rail's Brandt to step down\nTomas Brandt will step down in June.")]
    assert day_reported("Tomas Brandt arrived", articles) == "2018-03-14"  # "arrive" and the name are apart in 2021
    assert day_reported("Brandt stepped down", articles) == "2023-02-08"  # the one that tells most of it
    assert day_reported("Zorblax arrived", articles) == ""  # a made-up name dates nothing
    assert day_reported("the budget vote", articles) == ""  # fewer than half its words anywhere


def test_before_an_event_reads_the_articles_up_to_its_report():
    from rag.when import placed_by_event
    frame = placed_by_event(TimeFrame(today="2026-12-08"), "before", "Tomas Brandt arrived", "2018-03-14")
    assert (frame.kind, frame.start, frame.end, frame.as_of) == ("period", "", "2018-03-14", True)
    assert period_words(frame) == "the time before Tomas Brandt arrived (14 March 2018)"
    after = placed_by_event(TimeFrame(stative=False), "after", "the tunnel flooding", "2020-05-27")
    assert (after.start, after.end, after.stative) == ("2020-05-27", "", False)
    on = lambda p: True  # noqa: E731
    passages = [passage("2018-03-14"), passage("2019-11-06"), passage("2023-02-08")]
    assert [p.date for p in written_by_then(passages, frame, on)] == ["2018-03-14"]  # nothing older: its report
    flooded = placed_by_event(TimeFrame(today="2026-12-08"), "before", "the tunnel flooded", "2020-05-27")
    passages = [passage("2018-09-12"), passage("2019-06-01"), passage("2020-05-27"), passage("2022-10-19")]
    assert [p.date for p in written_by_then(passages, flooded, on)] == ["2019-06-01", "2020-05-27"]  # and the one before


def test_how_x_changed_keeps_x_as_its_subject():
    """The history frame's words span the question ("How did the fishing rules on Lake Verrin change"): its names are
    still what the timeline is about, so an article on another subject gives it no line."""
    question = "How did the fishing rules on Lake Verrin change over the years?"
    frame = read_question(question, TODAY)
    assert frame.kind == "history" and [c.text for c in subject(question, frame)] == ["Lake", "Verrin"]


def test_a_leadership_timeline_tells_who_led_rather_than_the_figures():
    pool = [passage("2018-03-14", "Harwick Rail carried 38 million passengers last year. Harwick Rail appointed Tomas "
                                  "Brandt as its chief executive in March.", doc="a"),
            passage("2023-06-19", "Harwick Rail has appointed Ana Ruiz as its chief executive.", doc="b")]
    found = events("How has the leadership of Harwick Rail changed?", pool, lambda p: True, 8)
    assert [e.passage.text for e in found] == ["Harwick Rail appointed Tomas Brandt as its chief executive in March.",
                                               "Harwick Rail has appointed Ana Ruiz as its chief executive."]

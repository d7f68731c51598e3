"""The prompt the model reads: each source's heading carries its article's title and publication date."""
from rag.dates import heading, shown_date, without_filing_day
from rag.generation import build_messages, load_prompts, pack_context
from rag.retrieval import Passage
from rag.when import TimeFrame

from conftest import ROOT

PROMPTS = load_prompts(ROOT / "prompts")


def passage(text="Dock workers returned to work on Sunday.", title="Port strike ends", source="strike.md",
            date="", chunk="c1") -> Passage:
    return Passage(chunk, "d-" + source, title, source, text, 0, len(text), date=date)


def sources_of(messages) -> str:
    return messages[-1]["content"]


def test_a_dated_source_is_headed_by_title_and_spoken_date():
    user = sources_of(build_messages(PROMPTS, [passage(date="2019-07-28")], "When did the strike end?"))
    assert "[1] Port strike ends — 28 July 2019\nDock workers returned to work on Sunday." in user


def test_an_undated_source_keeps_its_title_only():
    user = sources_of(build_messages(PROMPTS, [passage()], "When?"))
    assert "[1] Port strike ends\nDock workers" in user and " — " not in user


def test_a_source_titled_only_by_its_file_name_still_gets_its_date():
    """The RGB passages are files p0001.txt: no title to show, but a date the question may hinge on."""
    user = sources_of(build_messages(PROMPTS, [passage(title="p0001", source="p0001.txt", date="2021-01")], "When?"))
    assert "[1] January 2021\nDock workers" in user


def test_a_passage_opening_with_its_own_dateline_is_not_dated_twice():
    text = "Jan 22, 2021 ... Super Bowl LV will be played in Tampa Bay."
    user = sources_of(build_messages(PROMPTS, [passage(text=text, title="p0002", source="p0002.txt", date="2021-01-22")],
                                     "Where?"))
    assert f"[1] {text}" in user.replace("[1]\n", "[1] ")
    assert "22 January 2021" not in user


def test_consecutive_sources_of_one_article_share_one_heading_and_titles_off_keeps_dates():
    two = [passage(date="2019-07-28"), passage(text="The backlog clears in a week.", date="2019-07-28", chunk="c2")]
    user = sources_of(build_messages(PROMPTS, two, "When?"))
    assert user.count("Port strike ends — 28 July 2019") == 1 and "[2]\nThe backlog" in user
    untitled = sources_of(build_messages(PROMPTS, [passage(date="2019-07-28")], "When?", titles=False))
    assert "[1] 28 July 2019\nDock workers" in untitled and "Port strike" not in untitled.split("Question:")[0]


def test_the_prompt_says_how_to_read_relative_dates_when_a_source_is_dated():
    dated = build_messages(PROMPTS, [passage(date="2019-07-28")], "What happened yesterday?")
    assert dated[-1]["content"].startswith(PROMPTS.dated + "\nSources:")
    assert "not the publication date" in PROMPTS.dated
    undated = build_messages(PROMPTS, [passage()], "What happened yesterday?")
    assert PROMPTS.dated not in undated[-1]["content"]  # an undated corpus gets the prompt it always had
    assert dated[0] == undated[0]  # the cached system prompt is the same either way


def test_heading_and_shown_date():
    assert heading("Rates rise", "28 July 2019") == "Rates rise — 28 July 2019"
    assert heading("", "July 2019") == "July 2019" and heading("Rates rise", "") == "Rates rise"
    assert shown_date(passage(date="2019")) == "2019" and shown_date(passage()) == ""


def test_a_dateline_gives_its_place_but_not_the_day_the_heading_already_gives():
    """Asked on what date the council voted, the model copied the dateline's day (the report's), not the vote's."""
    text = "DUNMORE, Sept 12 - The council on Tuesday approved the line."
    shown = sources_of(build_messages(PROMPTS, [passage(text, date="2018-09-12")], "When did it vote?",
                                      frame=TimeFrame()))
    assert "DUNMORE - The council on Tuesday, 11 September 2018, approved the line." in shown
    assert "Sept 12" not in shown and "— 12 September 2018" in shown  # the day, once, in the heading
    assert without_filing_day(text, "2018-09-14") == text  # a dateline that disagrees with the date stays
    assert without_filing_day("HARWICK - Rail.", "2018-09-12") == "HARWICK - Rail."
    undated = sources_of(build_messages(PROMPTS, [passage(text)], "When did it vote?"))
    assert text in undated  # no heading date: the dateline is the only day the model has


def test_the_date_counts_in_the_context_budget():
    words = lambda text: len(text.split())  # noqa: E731
    dated, plain = passage(date="2019-07-28"), passage()
    cost = words(plain.text) + words(plain.title) + 4
    assert pack_context([plain], words, cost) == [plain]
    assert pack_context([dated], words, cost) == []  # three more words: "28 July 2019"

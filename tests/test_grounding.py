"""Grounding: the specifics a question pins down, and whether sources name them (pure functions)."""
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from rag.answerability import missing_numbers
from rag.grounding import constraints, missing, name_spans, norm, tokens, unwritten
from rag.reasons import event_phrase, mentions, reason, written_name, years_about
from tests.test_safety import article_sentences

ROOT = Path(__file__).resolve().parent.parent
RGB_CORPUS = ROOT.parent / "shared" / "bench" / "rgb" / "corpus"


@pytest.mark.parametrize("question, expected", [
    ("Which company makes the H20 chip and was it approved for sale?", [("code", "H20")]),
    ("Why did OpenAI release gpt-oss-120b?", [("name", "OpenAI"), ("code", "gpt-oss-120b")]),
    ("Who won the 2018 Tour de France?", [("number", "2018"), ("name", "Tour"), ("name", "France")]),
    ("Who won the women's singles Wimbledon in 2019?",
     [("qualifier", "women"), ("qualifier", "singles"), ("name", "Wimbledon"), ("number", "2019")]),
    ("What did the U.S. government do?", [("name", "US")]),
    ("Who won the 21st season in Q3?", [("number", "21st"), ("code", "Q3")]),
    ("Why did it happen? (conversation x-0)", []),  # a lone digit and question words pin nothing down
    ("What does Altman think about export controls?", [("name", "Altman")]),
])
def test_constraints(question, expected):
    assert [(c.kind, c.text) for c in constraints(question)] == expected


@pytest.mark.parametrize("question, sources, lacking", [
    ("Which company makes the H20 chip?", ["Nvidia sells the H200 in China."], ["H20"]),  # H200 is not H20
    ("Did the U.S. approve it?", ["The United States approved it."], []),               # an alias
    ("Did the US approve it?", ["The U.S. approved it."], []),                          # dotted acronym
    ("Is China ahead?", ["Chinese companies build fabs."], []),                         # a shared stem
    ("Why did OpenAI release gpt-oss-120b?", ["OpenAI released gpt-oss-120b and 20b."], []),
    ("Why did OpenAI release gpt-oss-120b?", ["OpenAI released gpt-oss-20b."], ["gpt-oss-120b"]),
    ("Who won the 2nd stage?", ["He won the second stage."], []),                       # ordinals
    ("What did Huawei say?", ["Altman spoke about chips."], ["Huawei"]),
    ("Who won the women's final?", ["The men's final went to five sets."], ["women"]),
])
def test_missing(question, sources, lacking):
    assert [c.text for c in missing(constraints(question), sources)] == lacking


def test_missing_only_of_the_kinds_asked():
    asked = constraints("What did Huawei say about the H20 in 2025?")
    assert [c.text for c in missing(asked, ["Nothing."], {"code"})] == ["H20"]
    assert {c.kind for c in missing(asked, ["Nothing."])} == {"name", "code", "number"}


@pytest.mark.parametrize("question, lacking, texts, expected", [
    ("Which company makes the H20 chip?", "the H20 chip", ["OpenAI released gpt-oss."],
     "The articles found do not mention H20."),
    ("Who won the 2018 Tour de France?", "2018", ["Bernal won the 2019 Tour de France.", "The 2021 Tour de France."],
     "The articles found cover the 2019 and 2021 Tour de France, not 2018."),
    ("Who won in 2018?", "2018", ["It rained."], "The articles found do not mention 2018."),
    ("What did Huawei say about H20?", "about Huawei H20", ["Nothing."], "The articles found do not mention Huawei or H20."),
])
def test_reason_says_what_is_missing_in_the_readers_terms(question, lacking, texts, expected):
    assert reason(question, constraints(lacking), texts) == expected


def test_event_and_years():
    assert event_phrase("Who won the 2018 Tour de France?") == "Tour de France"
    assert event_phrase("Where was the Super Bowl 2021 played?") == "Super Bowl"
    assert years_about("Tour de France", ["Bernal won the 2019 Tour de France.", "The 2020 Giro."]) == ["2019"]


def test_norm_and_tokens():
    assert [norm(w) for w in ["Altman's", "Chips", "21st", "Second", "H20", "Paris"]] == \
        ["altman", "chip", "21", "2", "h20", "pari"]
    assert tokens("The U.S.'s 2nd H20 chips") == ["the", "us", "2", "h20", "chip"]


WORDS = st.sampled_from(["Tour", "de", "France", "2019", "H20", "gpt-oss-120b", "U.S.", "women's", "Altman's", "the",
                         "21st", "Q3", "chips", "China", "won", "in", "Nvidia", "AMD", "e.g.", "3", "x-0", "Biden's"])


@given(st.lists(WORDS, min_size=1, max_size=14).map(" ".join))
def test_nothing_is_missing_from_the_text_it_came_from(text):
    assert missing(constraints(text), [text]) == []


def test_nothing_of_the_seed_article_is_missing_from_itself():
    found = article_sentences(sorted((ROOT / "corpus").glob("*.md")))
    assert len(found) > 40
    assert [s for s in found if missing(constraints(s), [s])] == []


@pytest.mark.skipif(not RGB_CORPUS.is_dir(), reason="../shared/bench/rgb is not beside this checkout")
def test_nothing_of_the_rgb_corpus_is_missing_from_itself():
    found = article_sentences(sorted(RGB_CORPUS.glob("*.txt")))
    assert len(found) > 1500
    assert [s for s in found if missing(constraints(s), [s])] == []


@pytest.mark.parametrize("question, names", [
    ("Besides hardware, what does success depend on?", []),   # capitalised only because the sentence starts
    ("Apart from chips, what matters? Under which law?", []),
    ("OpenAI said what? GPU makers agreed.", ["OpenAI", "GPU"]),  # a second capital makes it a name anywhere
    ('He said "Nvidia wins." and left.', ["Nvidia"]),           # inside a sentence: a name
])
def test_a_word_capitalised_only_by_its_sentence_start_is_no_name(question, names):
    assert [c.text for c in constraints(question) if c.kind == "name"] == names


def test_a_name_of_several_words_is_found_by_any_of_them():
    question = "Which actor won Best Actor at the 92nd Academy Awards Ceremony?"
    assert missing(constraints(question), ["Joaquin Phoenix won Best Actor at the 92nd Academy Awards."]) == []
    assert [c.text for c in missing(constraints("What did Jensen Huang say?"), ["Altman spoke."])] == ["Jensen", "Huang"]


@pytest.mark.parametrize("question, sources, lacking", [
    ("What did Sam Altman's Marlow memo say about export controls?", ["Altman: export controls don't work."], ["Marlow"]),
    ("What did Sam Altman Marlow say?", ["Sam Altman spoke."], ["Marlow"]),  # a distinctive word of a run must be found
    ("What did the Halvorsen Report say?", ["The report said chips matter."], ["Halvorsen"]),
    ("What did the Halvorsen Report say?", ["The Halvorsen study said so."], []),  # "Report" is common: found with the rest
    ("What did Jensen Huang say?", ["Huang said so."], ["Jensen"]),
    ("Who won the Marlow Academy Awards?", ["Phoenix won at the 92nd Academy Awards."], ["Marlow"]),
])
def test_every_distinctive_word_of_a_name_must_be_found(question, sources, lacking):
    assert [c.text for c in missing(constraints(question), sources)] == lacking


@pytest.mark.parametrize("question, read, found, lacking", [
    # "Dome" is not in the passages read, but another article found writes "Kestrel Dome": a real name
    ("When did drilling at Kestrel Dome restart?", ["Kestrel drilling resumed in November."],
     ["Scientists began drilling at Kestrel Dome."], []),
    # the words apart are not the name: "Dome" is still missing
    ("When did drilling at Kestrel Dome restart?", ["Kestrel drilling resumed."], ["Kestrel. The Dome of Rome."],
     ["Dome"]),
    # a one-word made-up name stays missing whatever else is found, and so does a made-up run
    ("What did Sam Altman's Marlow memo say?", ["Altman spoke."], ["Marlow Street was closed."], ["Marlow"]),
    ("What did Sam Altman Marlow say?", ["Sam Altman spoke."], ["Sam Altman and Marlow met."], ["Marlow"]),
])
def test_a_name_another_found_article_writes_in_full_is_not_made_up(question, read, found, lacking):
    assert [c.text for c in unwritten(missing(constraints(question), read), read + found)] == lacking


def test_what_counts_as_common_can_come_from_the_collection():
    question = "What did the Halvorsen Report say?"
    assert [c.text for c in missing(constraints(question), ["Report: Halvorsen."], common=lambda w: False)] == []
    assert [c.text for c in missing(constraints(question), ["Halvorsen said."], common=lambda w: False)] == ["Report"]
    assert missing(constraints(question), ["Halvorsen said."], common=lambda w: w == "Report") == []


def test_a_possessive_ends_a_name():
    assert [c.phrase for c in constraints("What did Sam Altman's Marlow memo say?")] == \
        [("sam", "altman"), ("sam", "altman"), ("marlow",)]
    assert name_spans("Ann's Marlow Cup.", {"ann", "marlow", "cup"}) == [[(0, 3)], [(6, 12), (13, 16)]]


@pytest.mark.parametrize("question, sources, expected", [
    ("What did Sam Altman's Marlow memo say about export controls?", ["Altman on export controls."],
     "The articles found do not mention a Marlow memo."),
    ("What did the Halvorsen Report say about chips?", ["Chips."], "The articles found do not mention the Halvorsen Report."),
    ("What did Altman tell the Rowan Institute?", ["Altman spoke at an institute."],
     "The articles found do not mention the Rowan Institute."),
    ("Did Nvidia's H25 chip get approved?", ["Nvidia's H20 chip was approved."], "The articles found do not mention H25."),
    ("What did Jensen Huang say?", ["Altman spoke."], "The articles found do not mention Jensen Huang."),
])
def test_the_refusal_names_the_missing_part_as_the_question_wrote_it(question, sources, expected):
    assert reason(question, missing(constraints(question), sources), sources) == expected


def test_mentions_and_written_name():
    assert mentions("What did Sam Altman's Marlow memo say?", constraints("a Marlow")) == ["a Marlow memo"]
    assert mentions("Who makes the H20 chip?", constraints("H20")) == ["H20"]
    assert written_name("Did Nvidia say", 4, 10) == "Nvidia"
    assert written_name("OpenAI's Orion model", 9, 14) == "an Orion model"
    assert written_name("What does the Pemberton Review conclude?", 14, 30) == "the Pemberton Review"


def passages_of(sentences: list[str]):
    """A Hypothesis strategy: a run of one to four consecutive sentences of a text, joined as a passage would be."""
    return st.integers(0, len(sentences) - 1).flatmap(
        lambda i: st.integers(1, 4).map(lambda n: " ".join(sentences[i:i + n])))


SEED_SENTENCES = article_sentences(sorted((ROOT / "corpus").glob("*.md")))


@given(passages_of(SEED_SENTENCES))
@settings(max_examples=200, deadline=None)
def test_no_name_or_number_of_a_seed_passage_is_missing_from_it(passage):
    assert missing(constraints(passage), [passage]) == []
    assert missing_numbers(passage, [passage]) == []


@pytest.mark.skipif(not RGB_CORPUS.is_dir(), reason="../shared/bench/rgb is not beside this checkout")
@given(st.data())
@settings(max_examples=200, deadline=None)
def test_no_name_or_number_of_an_rgb_passage_is_missing_from_it(data):
    path = data.draw(st.sampled_from(RGB_FILES()))
    passage = " ".join(article_sentences([path])[:4])
    assert missing(constraints(passage), [passage]) == []
    assert missing_numbers(passage, [passage]) == []


def RGB_FILES(cache={}):  # noqa: B006  (listed once, only when the corpus is there)
    if "files" not in cache:
        cache["files"] = sorted(RGB_CORPUS.glob("*.txt"))
    return cache["files"]


def test_a_made_up_word_shares_no_stem():
    # "Chinese" ~ "China" is a derived form English knows; "Meason" is no English word, so "measures" does not name it
    assert missing(constraints("Is China ahead?"), ["Chinese companies build fabs."]) == []
    assert [c.text for c in missing(constraints("Does Altman see the Meason AI race as zero-sum?"),
                                    ["Altman measures the AI race."])] == ["Meason"]

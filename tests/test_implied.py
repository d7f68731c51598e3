"""The words a question implies (rag/implied.py), and how the sentence choice uses them."""
from __future__ import annotations

import re

import pytest

from rag.context import lexical_scores, score_sentences, split_sentences
from rag.implied import LEADERSHIP, WEIGHT, implied
from rag.retrieval import Passage


@pytest.mark.parametrize("question, leads", [
    ("Who runs the Dunmore Transit Authority now?", True),
    ("Who was managing Fenwick Rovers in 2021?", True),
    ("Who heads the train maker Hartwick Railworks?", True),
    ("Who is in charge of Harwick Rail these days?", True),
    ("Who was the boss of Harwick Rail during 2020?", True),
    ("Whose team did the coach leave?", True),
    ("How has the leadership of Harwick Rail changed since 2018?", True),  # who led it, over time
    ("Why did the trams run late?", False),  # not a "who" question
    ("Who is the director of the Avatar movie?", False),  # a film's director does not lead a company
    ("Who won the Tour de France in 2020?", False),
    ("谁领导哈威克铁路？", False),
])
def test_who_leads_questions_imply_the_words_of_leadership(question, leads):
    assert (implied(question) == " ".join(LEADERSHIP)) is leads
    assert implied(question) == "" or "chief executive" in implied(question)


def test_a_sentence_naming_who_took_over_outscores_one_that_only_shares_a_word():
    text = ("The Dunmore Transit Authority began testing on Sunday. "
            "\"On Sunday they saw a tram,\" said Ingrid Solberg, who became the authority's chief executive in January. "
            "The authority said the line would open in spring.")
    passage = Passage("d:0", "d", "Tram", "d.md", text, 0, len(text))
    count = lambda t: len(re.findall(r"\w+", t))  # noqa: E731
    sentences = split_sentences([passage], count)
    question = "Who runs the Dunmore Transit Authority now?"
    asked = score_sentences(question, [passage], sentences)
    plain = lexical_scores(question, [text[s.start:s.end] for s in sentences])  # the asked words alone
    assert asked[1] == pytest.approx(plain[1] + WEIGHT)  # shares "authority", holds "chief executive"
    assert asked[2] == plain[2]  # shares "authority" but names no one's role
    assert asked[0] == plain[0] and asked[1] > asked[2]

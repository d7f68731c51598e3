"""The bundled test set (tests/testset.jsonl) is well formed and true to the corpus article.

Each line: {"id", "question", "answer", "answerable", "evidence", "keywords"}; evidence quotes are exact
text of the article, keyword groups are found in the reference answer or its evidence, and
unanswerable questions carry no evidence, no keywords and the fixed answer. The RGB slice in
/work/shared/bench/rgb is checked for the same format when it is present.
"""
import json
import re
from pathlib import Path

import pytest

from rag.documents import load_document
from rag.evaluation.metrics import contains_evidence, fold, names
from rag.evaluation.testset import load_testset

ROOT = Path(__file__).resolve().parent.parent
TESTSET = ROOT / "tests" / "testset.jsonl"
ARTICLE = ROOT / "corpus" / "altman-china-ai-open-weights.md"
RGB = ROOT.parent / "shared" / "bench" / "rgb"
KEYS = {"id", "question", "answer", "answerable", "evidence", "keywords"}
UNANSWERABLE_ANSWER = "The articles do not say."
LINES = TESTSET.read_text(encoding="utf-8").splitlines()


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def article_text() -> str:
    return norm(load_document(ARTICLE, ROOT / "corpus").text)


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return [json.loads(line) for line in LINES]


@pytest.mark.parametrize("lineno, line", list(enumerate(LINES, 1)), ids=lambda v: str(v)[:12])
def test_line_is_a_well_formed_item(lineno, line):
    assert line.strip(), "blank line"
    item = json.loads(line)
    assert isinstance(item, dict) and set(item) == KEYS
    assert item["id"] == f"q{lineno:03d}", "ids run q001, q002, … in file order"
    for field in ("question", "answer"):
        assert isinstance(item[field], str) and item[field].strip(), f"empty {field}"
    assert isinstance(item["answerable"], bool)
    assert isinstance(item["evidence"], list) and all(isinstance(e, str) and e.strip() for e in item["evidence"])
    assert isinstance(item["keywords"], list) and all(
        isinstance(g, list) and g and all(isinstance(k, str) and k.strip() for k in g) for g in item["keywords"])


@pytest.mark.parametrize("index", range(len(LINES)), ids=lambda i: f"q{i + 1:03d}")
def test_item_is_true_to_the_article(index, items, article_text):
    item = items[index]
    for quote in item["evidence"]:
        assert norm(quote) in article_text, f"evidence not in the article: {quote!r}"
        assert contains_evidence(article_text, quote)  # the rule hit@k uses agrees
    if item["answerable"]:
        assert item["evidence"] and item["keywords"], "answerable needs evidence and keywords"
        haystack = fold(item["answer"] + " " + " ".join(item["evidence"]))
        for group in item["keywords"]:  # by keyword_recall's own rule: whole words, `*` a prefix, not negated
            assert any(names(haystack, k) for k in group), f"keyword group {group} in neither answer nor evidence"
    else:
        assert not item["evidence"] and not item["keywords"]
        assert item["answer"] == UNANSWERABLE_ANSWER


def test_ids_and_questions_are_unique(items):
    assert len({i["id"] for i in items}) == len(items)
    assert len({i["question"] for i in items}) == len(items)


def test_size_matches_the_issue(items):
    """Issue 4 describes 55 questions, 15 of them unanswerable; change this with the set."""
    assert (len(items), sum(not i["answerable"] for i in items)) == (55, 15)


def test_the_evaluation_loader_accepts_it():
    assert len(load_testset(TESTSET)) == len(LINES)


@pytest.mark.skipif(not RGB.is_dir(), reason="the shared RGB slice is not present")
def test_rgb_slice_format_and_evidence():
    items = load_testset(RGB / "dev.jsonl")
    corpus = [fold(p.read_text(encoding="utf-8")) for p in sorted((RGB / "corpus").glob("*.txt"))]
    assert (len(items), sum(not i["answerable"] for i in items)) == (56, 10)  # the revision of 2026-11-26
    for item in items:
        assert bool(item["evidence"]) == item["answerable"], item["id"]
        for quote in item["evidence"]:
            assert any(fold(quote) in text for text in corpus), f"{item['id']}: evidence not in the corpus"


FOLLOW_UPS = ROOT / "tests" / "followups.jsonl"


def test_the_follow_up_set_points_back_and_is_true_to_the_article(items, article_text):
    """tests/followups.jsonl: a conversation's earlier questions and a follow-up that cannot be searched alone; its
    evidence and keywords are those of the test-set question it stands for, so they were written before the rule."""
    from rag.text import stands_alone

    follow_ups = load_testset(FOLLOW_UPS)
    assert len(follow_ups) == 21 and {i["fold"] for i in follow_ups} == {"bench", "confirm"}
    labelled = {(tuple(i["evidence"]), tuple(map(tuple, i["keywords"]))) for i in items}
    for item in follow_ups:
        assert item["history"] and not stands_alone(item["question"]), item["id"]
        assert (tuple(item["evidence"]), tuple(map(tuple, item["keywords"]))) in labelled, item["id"]
        assert all(norm(quote) in article_text for quote in item["evidence"])


@pytest.mark.parametrize("history", ["Who is Sam Altman?", [""], [3]])
def test_a_history_that_is_not_a_list_of_questions_is_refused_with_its_line(tmp_path, history):
    from rag.errors import RagError

    bad = tmp_path / "t.jsonl"
    bad.write_text(json.dumps({"id": "a", "question": "Why?", "answer": "x", "answerable": True, "evidence": ["x"],
                               "history": history}) + "\n")
    with pytest.raises(RagError, match="line 1: 'history' must be a list"):
        load_testset(bad)


NEAR_MISSES = ROOT / "tests" / "near-misses.jsonl"


def test_the_made_up_qualifier_questions_name_only_what_the_article_lacks(article_text):
    """tests/near-misses.jsonl: questions about the bundled article with an invented name, report or code beside real
    ones; unanswerable, the reason in the answer, the invented part in "invented"."""
    from rag.grounding import constraints, missing

    items = load_testset(NEAR_MISSES)
    assert len(items) >= 10 and [i["id"] for i in items] == [f"m{n:03d}" for n in range(1, len(items) + 1)]
    for item in items:
        assert set(item) == KEYS | {"invented", "history"} and not item["answerable"], item["id"]
        assert not item["evidence"] and not item["keywords"] and item["answer"].startswith("The articles do not say (")
        assert fold(item["invented"]) not in fold(article_text), item["id"]
        lacking = missing(constraints(item["question"]), [article_text])
        invented = [c for c in lacking if c.text == item["invented"]]
        assert invented and all(c == invented[0] or c.tokens[0] in invented[0].phrase for c in lacking), \
            f"{item['id']}: the article lacks {[c.text for c in lacking]}, not only the invented name"

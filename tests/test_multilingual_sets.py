"""The Chinese RGB slice (tests/data/zh) and the German, French and Spanish articles (tests/data/multilingual)
are well formed and true to their corpora; no model is loaded.

Each line is a test-set item (rag/evaluation/testset.py) plus ``"lang"``, the language the question is asked in.
Evidence quotes are exact text of a corpus file, and the rule hit@k uses (``contains_evidence``) finds them in the
document as the pipeline reads it; every keyword group is named in the reference answer or its evidence;
unanswerable items carry no evidence, no keywords and the fixed answer of their language. The Chinese slice takes
RGB ids 0-49 only (the others are kept aside), and its English items are translations of the Chinese ones with the
same evidence and keyword groups.
"""
import re
from collections import Counter
from pathlib import Path

import pytest

from rag.documents import load_document
from rag.evaluation.metrics import contains_evidence, fold, names
from rag.evaluation.testset import load_testset

DATA = Path(__file__).resolve().parent / "data"
ZH, ML = DATA / "zh", DATA / "multilingual"
ALLOWED_KEYS = {"id", "question", "answer", "answerable", "evidence", "keywords", "lang", "history"}
NO_ANSWER = {"zh": "资料中没有提到。", "en": "The sources do not say.", "de": "Die Quellen sagen dazu nichts.",
             "fr": "Les sources ne le disent pas.", "es": "Las fuentes no lo dicen."}
RGB_IDS = range(50)  # the slice takes RGB ids 0-49; the others are kept for checks the project does not see
ZH_ID = re.compile(r"zh(en)?(\d{3})")
ZH_NEAR = re.compile(r"zh(en)?x\d{2}")
ML_ID = re.compile(r"(de|fr|es)([12])_(en|de|fr|es)([123x])")


def named(text: str, keyword: str) -> bool:
    """Whether folded text contains the keyword (``*`` a prefix), as a plain substring.

    Not metrics.names: its whole-word rule counts CJK characters as word characters, so "1361万" is no word
    of "新增就业1361万人". ``named('新增就业1361万人', '1361万') -> True``
    """
    return fold(keyword.rstrip("*")) in fold(text)


def load(path: Path) -> list[dict]:
    items = load_testset(path)
    assert len(items) == sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return items


@pytest.fixture(scope="module")
def zh_items() -> list[dict]:
    return load(ZH / "dev.jsonl")


@pytest.fixture(scope="module")
def ml_items() -> list[dict]:
    return load(ML / "questions.jsonl")


@pytest.fixture(scope="module")
def zh_corpus() -> dict[str, tuple[str, str]]:
    """file name -> (raw text, text as the pipeline reads it)."""
    return {p.name: (p.read_text(encoding="utf-8"), load_document(p, ZH / "corpus").text)
            for p in sorted((ZH / "corpus").glob("*"))}


@pytest.fixture(scope="module")
def ml_corpus() -> dict[str, tuple[str, str]]:
    return {p.name: (p.read_text(encoding="utf-8"), load_document(p, ML / "corpus").text)
            for p in sorted((ML / "corpus").glob("*"))}


def check_item(item: dict, corpus: dict[str, tuple[str, str]], keyword_rule) -> None:
    """The checks every item of both sets passes (the message names the item)."""
    where = item["id"]
    assert set(item) <= ALLOWED_KEYS, f"{where}: unexpected keys {set(item) - ALLOWED_KEYS}"
    assert item["lang"] in NO_ANSWER, f"{where}: lang {item.get('lang')!r}"
    assert item["question"].strip() and item["answer"].strip() and not item["history"], where
    for quote in item["evidence"]:
        holders = [name for name, (raw, _) in corpus.items() if quote in raw]
        assert holders, f"{where}: evidence is no exact text of a corpus file: {quote[:60]!r}"
        assert any(contains_evidence(corpus[name][1], quote) for name in holders), f"{where}: hit@k would miss {quote[:60]!r}"
    if item["answerable"]:
        assert item["evidence"] and item["keywords"], f"{where}: answerable needs evidence and keywords"
        haystack = fold(item["answer"] + " " + " ".join(item["evidence"]))  # names() takes folded text
        for group in item["keywords"]:
            assert any(keyword_rule(haystack, k) for k in group), f"{where}: keyword group {group} in neither answer nor evidence"
    else:
        assert not item["evidence"] and not item["keywords"], f"{where}: unanswerable with evidence or keywords"
        assert item["answer"] == NO_ANSWER[item["lang"]], where


# --- the Chinese RGB slice


def test_zh_items_are_true_to_the_corpus(zh_items, zh_corpus):
    for item in zh_items:
        check_item(item, zh_corpus, named)


def test_zh_ids_are_unique_and_name_rgb_ids_0_to_49_only(zh_items):
    ids = [i["id"] for i in zh_items]
    assert len(set(ids)) == len(ids)
    for item in zh_items:
        source = ZH_ID.fullmatch(item["id"])
        assert source or ZH_NEAR.fullmatch(item["id"]), f"unexpected id {item['id']}"
        if source:
            assert int(source.group(2)) in RGB_IDS, f"{item['id']} is not one of RGB ids 0-49"
            assert item["lang"] == ("en" if source.group(1) else "zh"), item["id"]
        else:
            assert not item["answerable"] and item["lang"] == ("en" if item["id"].startswith("zhen") else "zh")
    assert len({i["question"] for i in zh_items}) == len(zh_items), "a question is asked twice"


def test_each_english_item_translates_its_chinese_item(zh_items):
    by_id = {i["id"]: i for i in zh_items}
    english = [i for i in zh_items if ZH_ID.fullmatch(i["id"]) and i["lang"] == "en"]
    assert len(english) >= 20
    for item in english:
        source = by_id[item["id"].replace("zhen", "zh")]
        assert (item["answerable"], item["evidence"], item["keywords"]) == \
               (source["answerable"], source["evidence"], source["keywords"]), item["id"]
        assert not re.search(r"[\u4e00-\u9fff]", item["question"]), f"{item['id']}: the English question holds Chinese"


def test_zh_counts_per_language_direction(zh_items):
    """README.md's table; change both with the set. RGB id 25 is unanswerable from this corpus (README.md)."""
    counts = Counter((i["lang"], "near" if ZH_NEAR.fullmatch(i["id"]) else "rgb", i["answerable"]) for i in zh_items)
    assert counts == {("zh", "rgb", True): 49, ("zh", "rgb", False): 1, ("zh", "near", False): 7,
                      ("en", "rgb", True): 49, ("en", "rgb", False): 1, ("en", "near", False): 7}
    assert {int(ZH_ID.fullmatch(i["id"]).group(2)) for i in zh_items if ZH_ID.fullmatch(i["id"])} == set(RGB_IDS)


def test_zh_corpus_is_one_distinct_passage_a_file(zh_corpus):
    assert list(zh_corpus) == [f"z{n:04d}.txt" for n in range(len(zh_corpus))] and len(zh_corpus) == 465
    passages = [raw for raw, _ in zh_corpus.values()]
    assert all(raw.endswith("\n") and raw.count("\n") == 1 and raw.strip() for raw in passages)
    assert len(set(passages)) == len(passages), "a passage is in two files"


def test_zh_evidence_quotes_whole_passages(zh_items, zh_corpus):
    passages = {raw.rstrip("\n") for raw, _ in zh_corpus.values()}
    for item in zh_items:
        assert all(quote in passages for quote in item["evidence"]), f"{item['id']}: a quote is not a whole passage"


# --- the German, French and Spanish articles


def test_ml_items_are_true_to_their_articles(ml_items, ml_corpus):
    for item in ml_items:
        check_item(item, ml_corpus, names)  # Latin scripts: keyword_recall's own whole-word rule


def test_ml_ids_are_unique_and_match_their_article(ml_items, ml_corpus):
    ids = [i["id"] for i in ml_items]
    assert len(set(ids)) == len(ids) and len({i["question"] for i in ml_items}) == len(ids)
    articles = {name.split("-")[0] for name in ml_corpus}
    for item in ml_items:
        match = ML_ID.fullmatch(item["id"])
        assert match and match.group(1) in articles, item["id"]
        article_lang, lang = match.group(1), match.group(3)
        assert lang in ("en", article_lang) and item["lang"] == lang, item["id"]
        assert item["answerable"] == (match.group(4) != "x"), item["id"]
        quotes = item["evidence"]
        assert all(any(q in raw for name, (raw, _) in ml_corpus.items() if name.startswith(article_lang)) for q in quotes)


def test_ml_counts_per_article_and_language(ml_items):
    """Per article: 3 questions in English and 3 in its language, and one near-miss in each."""
    counts = Counter((i["id"][:3], i["lang"], i["answerable"]) for i in ml_items)
    expected = {}
    for article in ("de1", "de2", "fr1", "fr2", "es1", "es2"):
        for lang in ("en", article[:2]):
            expected[(article, lang, True)], expected[(article, lang, False)] = 3, 1
    assert counts == expected


@pytest.mark.parametrize("name", sorted(p.name for p in (ML / "corpus").glob("*.md")))
def test_ml_article_has_front_matter_and_a_news_length(name):
    path = ML / "corpus" / name
    raw = path.read_text(encoding="utf-8")
    head = re.match(r"---\ntitle: \"[^\"\n]+\"\ndate: (\d{4}-\d{2}-\d{2})\n---\n", raw)
    assert head, f"{name}: front matter is not title, then date"
    document = load_document(path, ML / "corpus")
    assert document.date == head.group(1) and document.title and not document.text.startswith("---")
    assert 200 <= len(document.text.split()) <= 400, f"{name}: {len(document.text.split())} words"


def test_chinese_questions_about_the_bundled_english_article_are_true_to_it():
    # tests/data/zh/seed.jsonl: the Chinese->English direction, asked over corpus/ (the seed article)
    items = load_testset(ZH / "seed.jsonl")
    article = load_document(DATA.parent.parent / "corpus" / "altman-china-ai-open-weights.md").text
    assert len({item["id"] for item in items}) == len(items) == 13
    assert sum(item["answerable"] for item in items) == 10 and all(item["lang"] == "zh" for item in items)
    for item in items:
        assert all(quote in article for quote in item["evidence"]), item["id"]
        assert item["answerable"] == bool(item["evidence"] and item["keywords"]), item["id"]

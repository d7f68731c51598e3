"""Evaluation metrics on hand-made cases with known answers, the report, and one real end-to-end run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from rag.citations import Claim
from rag.errors import RagError
from rag.evaluation.report import METRIC_NOTES, cell
from rag.evaluation.run import PER_QUESTION, compare, eval_settings, run_evaluation
from rag.evaluation.testset import load_testset
from rag.settings import expand_grid, parse_grid
from rag.evaluation.metrics import (citation_scores, contains_evidence, evidence_rank, fold, keyword_recall, longest_run,
                                    percentile, reciprocal_rank, squad_tokens, token_f1)
from rag.evaluation.records import Record, evidence_citation_scores, risk_coverage, score_answer, summarize
from rag.pipeline import Answer, Citation, Timings
from rag.retrieval import Passage

ROOT = Path(__file__).resolve().parent.parent
REFUSAL = "The articles do not answer this question."
FACT = "Under the Biden administration, export controls tightened, and then the Trump administration pushed even harder."
OTHER = "Altman said open-weight models matter for developers."
SIM = lambda sentence, others: [0.5 for _ in others]  # noqa: E731  a fixed stand-in for the embedder


def passage(text: str, n: int = 0) -> Passage:
    return Passage(f"c{n}", "doc", "Title", "a.md", text, 0, len(text), similarity=0.6)


def answer(text: str, claims=(), passages=(), refused=False, completion_tokens=20) -> Answer:
    passages = list(passages)
    cited = sorted({n for c in claims for n in c.cited})
    citations = [Citation(n, "doc", "Title", "a.md", f"c{n}", passages[n - 1].text, 0, 1,
                          any(n in c.supported for c in claims)) for n in cited]
    timings = Timings(retrieve_ms=100.0, ttft_ms=2000.0 if completion_tokens else 0.0, total_ms=4000.0,
                      prompt_tokens=500, completion_tokens=completion_tokens)
    return Answer("q?", text, refused, citations, passages, list(claims), timings, "model.gguf")


def item(answerable=True, evidence=(FACT,), keywords=(("Biden",), ("Trump",)), reference="Biden, then Trump.") -> dict:
    return {"id": "q001", "question": "Who tightened export controls?", "answer": reference,
            "answerable": answerable, "evidence": list(evidence), "keywords": [list(g) for g in keywords]}


# --- retrieval -------------------------------------------------------------------------------------

@pytest.mark.parametrize("passage_text, quote, expected", [
    (FACT, "export controls tightened", True),                              # plain containment
    ("UNDER the  Biden\nadministration, export", "under the biden administration,", True),  # case and spaces
    ("Export controls don’t work.", "export controls don't work", True),     # typographic apostrophe
    ("cut here: the world was gonna head to be mostly", "the world was gonna head to be mostly built on", True),  # 8/9 words
    ("cut here: the world was gonna head to", "the world was gonna head to be mostly built on", False),  # 6/9 words
    (OTHER, "export controls tightened", False),
    (FACT, "   ", False),
])
def test_contains_evidence(passage_text, quote, expected):
    assert contains_evidence(passage_text, quote) is expected


def test_longest_run_counts_consecutive_words_only():
    assert longest_run("a b c d".split(), "x c d y a b".split()) == 2
    assert longest_run("a b".split(), []) == 0


@pytest.mark.parametrize("texts, rank, rr", [([FACT, OTHER], 1, 1.0), ([OTHER, OTHER, FACT], 3, 1 / 3), ([OTHER], None, 0.0)])
def test_evidence_rank_and_reciprocal_rank(texts, rank, rr):
    assert evidence_rank(texts, ["Nothing like it.", "export controls tightened"]) == rank
    assert reciprocal_rank(rank) == pytest.approx(rr)


# --- answers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, groups, expected", [
    ("Biden, then TRUMP.", [["Biden"], ["Trump", "Donald"]], 1.0),
    ("Biden, then Trump.", [["Biden"], ["Trump"], ["Obama", "Bush"]], 2 / 3),
    ("Export controls don’t work.", [["don't work", "ineffective"]], 1.0),
    ("Nobody.", [["Biden"]], 0.0),
    ("Anything.", [], None),
    # whole words: "lack" is not in "Blackwell"; a `*` keyword is a prefix
    ("Nvidia sells Blackwell chips.", [["lack"]], 0.0),
    ("He is worried about China.", [["worr*"]], 1.0),
    # polarity: a negated keyword does not count
    ("He isn't worried about China.", [["worr*"]], 0.0),
    ("Altman is not at all worried.", [["worried"]], 0.0),
    ("Maybe not the right thing.", [["not the right thing", "wrong thing"]], 1.0),
])
def test_keyword_recall(text, groups, expected):
    assert keyword_recall(text, groups) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("prediction, reference, expected", [
    ("Biden and Trump", "the Biden administration", 0.4),   # 1 shared token; precision 1/3, recall 1/2
    ("The CEO of OpenAI.", "CEO of OpenAI", 1.0),           # articles and punctuation do not count
    ("Facebook", "Meta", 0.0),
    ("", "", 1.0),
    ("a the", "Facebook", 0.0),                              # only articles: empty after normalisation
])
def test_token_f1(prediction, reference, expected):
    assert token_f1(prediction, reference) == pytest.approx(expected)


def test_squad_tokens_drop_case_punctuation_and_articles():
    assert squad_tokens("The U.S. chips, an export!") == ["us", "chips", "export"]


# --- citations -------------------------------------------------------------------------------------

@pytest.mark.parametrize("claims, expected", [
    ([Claim("A.", [1], [1])], (1.0, 1.0)),
    ([Claim("A.", [1], [1]), Claim("B.", [2], [])], (0.5, 0.5)),           # citation 2 does not support B
    ([Claim("A.", [1], [1]), Claim("B.", [1, 2], [2]), Claim("C.", [], [])], (2 / 3, 2 / 3)),  # C is uncited
    ([Claim("A.", [], []), Claim("B.", [], [])], (0.0, 0.0)),               # no citation at all
    ([], (None, None)),                                                      # a refusal has no sentence
])
def test_citation_scores(claims, expected):
    got = citation_scores(claims)
    assert got == tuple(pytest.approx(v) if v is not None else None for v in expected)


# --- one question, scored ----------------------------------------------------------------------------

def test_evidence_citations_are_judged_by_the_evidence_not_by_the_checker():
    claims = [Claim("Biden tightened controls.", [1], []), Claim("Altman agrees.", [2], [2])]  # checker: 1 no, 2 yes
    record = score_answer(item(), answer("Biden tightened controls [1]. Altman agrees [2].", claims,
                                         [passage(FACT), passage(OTHER)]), SIM)
    assert record.cited_evidence == [True, False]  # the evidence is in source 1, whatever the checker said
    uncited = score_answer(item(), answer("Biden tightened controls.", [Claim("Biden tightened controls.")],
                                          [passage(FACT)]), SIM)
    m = evidence_citation_scores([record, uncited])
    assert m == {"evidence_citation_precision": 0.5, "evidence_citation_recall": 0.5}


def test_risk_coverage_counts_other_refusals_and_scores_below_each_threshold():
    def rec(answerable, confidence, refused_by=""):
        return Record("q", "q?", answerable, "r", "a", bool(refused_by), confidence=confidence, refused_by=refused_by)
    records = [rec(True, 0.9), rec(True, 0.4), rec(False, 0.2), rec(False, 0.6), rec(False, None, "relevance")]
    points = {p["threshold"]: (p["refusal_accuracy"], p["false_refusal_rate"]) for p in risk_coverage(records)}
    assert points[0.0] == (pytest.approx(1 / 3), 0.0)  # only the relevance refusal
    assert points[0.2] == (pytest.approx(2 / 3), 0.0)  # + the unanswerable scored 0.2
    assert points[0.4] == (pytest.approx(2 / 3), 0.5)  # + the answerable scored 0.4
    assert points[0.6] == (1.0, 0.5) and points[1.01] == (1.0, 1.0)
    confident = rec(True, 0.3, "confidence")  # refused by the rule itself: answered at thresholds up to its score
    assert risk_coverage([confident])[0]["false_refusal_rate"] == 0.0


def test_supported_answer_scores_well():
    claims = [Claim("Biden tightened controls, then Trump.", [1], [1], {1: 0.9})]
    record = score_answer(item(), answer("Biden tightened controls, then Trump [1].", claims, [passage(FACT)]), SIM)
    assert (record.hit, record.evidence_rank, record.reciprocal_rank) == (True, 1, 1.0)
    assert record.keyword_recall == 1.0 and record.semantic_similarity == 0.5
    assert (record.citation_precision, record.citation_recall) == (1.0, 1.0)
    assert record.verdict == "correct" and record.citations[0]["supported"] is True
    assert record.ttft_ms == 2000.0 and record.tokens_per_s == pytest.approx(19 / 2, abs=0.01)


def test_citation_that_does_not_support_its_sentence():
    claims = [Claim("Biden tightened controls.", [1], [1], {1: 0.9}), Claim("Trump loved it.", [2], [], {2: 0.1})]
    got = answer("Biden tightened controls [1]. Trump loved it [2].", claims, [passage(FACT), passage(OTHER, 1)])
    record = score_answer(item(), got, SIM)
    assert (record.citation_precision, record.citation_recall) == (0.5, 0.5)
    assert [c["supported"] for c in record.citations] == [True, False]


def test_refused_answerable_question_scores_zero_and_counts_as_false_refusal():
    record = score_answer(item(), answer(REFUSAL, passages=[passage(OTHER)], refused=True, completion_tokens=0), SIM)
    assert (record.keyword_recall, record.token_f1, record.semantic_similarity) == (0.0, 0.0, 0.0)
    assert record.citation_precision is None and record.ttft_ms is None
    assert record.hit is False and record.verdict == "false refusal; retrieval miss"


@pytest.mark.parametrize("refused, expected", [(True, "refused (correct)"), (False, "answered, should refuse")])
def test_unanswerable_question_has_no_answer_quality(refused, expected):
    claims = [] if refused else [Claim("It was Sydney.", [1], [], {1: 0.2})]
    got = answer(REFUSAL if refused else "It was Sydney [1].", claims, [passage(OTHER)], refused=refused)
    record = score_answer(item(answerable=False, evidence=(), keywords=()), got, SIM)
    assert record.hit is None and record.keyword_recall is None and record.token_f1 is None
    assert record.verdict == expected


def test_summarize_rates_and_averages():
    supported = [Claim("Biden then Trump.", [1], [1])]
    records = [
        score_answer(item(), answer("Biden then Trump [1].", supported, [passage(FACT)]), SIM),          # correct
        score_answer(item(), answer(REFUSAL, passages=[passage(OTHER)], refused=True), SIM),            # false refusal
        score_answer(item(False, (), ()), answer(REFUSAL, refused=True, completion_tokens=0), SIM),     # right refusal
        score_answer(item(False, (), ()), answer("Sydney [1].", [Claim("Sydney.", [1], [])], [passage(OTHER)]), SIM),
    ]
    m = summarize(records)
    assert (m["hit_at_k"], m["mrr"]) == (0.5, 0.5)
    assert (m["keyword_recall"], m["false_refusal_rate"], m["refusal_accuracy"]) == (0.5, 0.5, 0.5)
    assert (m["citation_precision"], m["citation_recall"]) == (0.5, 0.5)    # over the two non-refused answers
    assert m["uncited_answer_rate"] == 0.0
    uncited = score_answer(item(), answer("Biden then Trump.", [Claim("Biden then Trump.")], [passage(FACT)]), SIM)
    assert summarize([*records, uncited])["uncited_answer_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["ttft_p50_ms"] == 2000.0 and m["total_p50_ms"] == 4000.0 and m["questions"] == 4
    assert set(METRIC_NOTES) <= set(m)


@pytest.mark.parametrize("values, q, expected", [([10, 20, 30, 40], 50, 25.0), ([10, 20, 30, 40], 95, 38.5),
                                                 ([7], 95, 7.0), ([], 50, None)])
def test_percentile(values, q, expected):
    assert percentile(values, q) == expected


# --- properties ------------------------------------------------------------------------------------

words = st.lists(st.sampled_from(["biden", "trump", "chips", "the", "a", "export", "China", "AI"]), max_size=8)


@given(words, words)
def test_token_f1_is_symmetric_and_bounded(a, b):
    x, y = " ".join(a), " ".join(b)
    assert 0.0 <= token_f1(x, y) <= 1.0
    assert token_f1(x, y) == pytest.approx(token_f1(y, x))


@given(words)
def test_token_f1_of_a_text_with_itself_is_one(a):
    assert token_f1(" ".join(a), " ".join(a)) == 1.0


@given(st.text(min_size=1, max_size=60), st.text(max_size=30), st.text(max_size=30))
def test_a_quote_inside_a_passage_is_always_found(quote, before, after):
    if fold(quote):
        assert contains_evidence(f"{before} {quote} {after}", quote)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=30), st.floats(0, 100), st.floats(0, 100))
def test_percentile_stays_in_range_and_grows_with_q(values, q1, q2):
    low, high = sorted((q1, q2))
    assert min(values) <= percentile(values, low) <= percentile(values, high) + 1e-6 <= max(values) + 1e-6


# --- test sets, settings grid, report ----------------------------------------------------------------

@pytest.mark.parametrize("line, message", [
    ("{not json", "not valid JSON"),
    ('{"id": "x", "question": "q", "answer": "a", "answerable": "yes", "evidence": []}', "'answerable'"),
    ('{"id": "x", "question": "q", "answer": "a", "answerable": true, "evidence": [], "keywords": ["flat"]}', "keywords"),
])
def test_load_testset_names_the_bad_line(tmp_path, line, message):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(item()) + "\n" + line + "\n")
    with pytest.raises(RagError, match=r"line 2.*" + message.replace("(", r"\(")):
        load_testset(path)


def test_load_testset_limit_and_default_keywords(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{k: v for k, v in item().items() if k != "keywords"} for _ in range(3)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    got = load_testset(path, limit=2)
    assert len(got) == 2 and got[0]["keywords"] == []


def test_compare_grid():
    grid = parse_grid(["top_k=2,4", "retrieval=bm25"], PER_QUESTION)
    assert expand_grid(grid) == [{"top_k": "2", "retrieval": "bm25"}, {"top_k": "4", "retrieval": "bm25"}]
    for bad in (["chunk_tokens=100,200"], ["top_k"], ["top_k=2", "top_k=4"]):
        with pytest.raises(RagError):
            parse_grid(bad, PER_QUESTION)


def test_each_corpus_gets_its_own_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    first, second = tmp_path / "a" / "corpus", tmp_path / "b" / "corpus"
    first.mkdir(parents=True), second.mkdir(parents=True)
    homes = [eval_settings(c, model=tmp_path / "m.gguf", top_k=3).home for c in (first, second)]
    assert homes[0] != homes[1] and all(h.parent == tmp_path / "home" / "eval" for h in homes)
    assert homes[0].name.startswith("a-corpus-")
    assert eval_settings(first, tmp_path / "mine", model=tmp_path / "m.gguf").home == tmp_path / "mine"
    with pytest.raises(RagError, match="Corpus folder not found"):
        eval_settings(tmp_path / "missing", model=tmp_path / "m.gguf")


def test_cell_escapes_pipes_and_newlines():
    assert cell("a|b\nc", 10) == "a\\|b c" and cell("x" * 20, 5) == "xxxx…"


def test_a_report_row_renders_no_image_or_link_from_the_test_set_or_the_answer():
    """Ids, questions and answers come from an uploaded test set and the model: text only (issue 16)."""
    from markdown_it import MarkdownIt

    from rag.evaluation.report import record_row
    from rag.web.tabs import evaluation_markdown

    image = "![i](http://elsewhere.example/i.png)"
    row = record_row(Record(image, f"Why? {image} <img src=http://elsewhere.example/h.png>", True, "r",
                            "See [x](javascript:alert(1)) and <http://elsewhere.example>", False))
    for markdown in (row, evaluation_markdown("# E\n\n| a | b | c | d | e | f | g |\n|---|---|---|---|---|---|---|\n" + row)):
        rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
        assert "<img" not in rendered and "<a " not in rendered and "elsewhere.example/i.png" in rendered, rendered
    assert "<img" in MarkdownIt("commonmark", {"html": True}).render(image)  # the same text, not made inert, would fetch


class StandIn:
    """An Assistant-shaped stand-in that replays fixed answers (for the report plumbing only)."""

    def __init__(self):
        self.generator = type("G", (), {"name": "stand-in.gguf", "describe": lambda self: {"file": "stand-in.gguf"}})()
        self.asked = []

    def with_overrides(self, overrides):
        from rag.settings import Settings
        return Settings(**overrides)

    def ask(self, question, history=(), **overrides):
        self.asked.append(overrides)
        claims = [Claim("Biden then Trump.", [1], [1])]
        return answer("Biden then Trump [1].", claims, [passage(FACT)])

    similarity = staticmethod(SIM)


def test_run_evaluation_writes_report_json_and_chart(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(item()) + "\n" + json.dumps({**item(False, (), ()), "id": "q002"}) + "\n")
    seen = []
    helper = StandIn()
    report = run_evaluation(helper, path, progress=lambda f, m: seen.append(f), out_dir=tmp_path / "out",
                            overrides={"top_k": 2})
    assert report.metrics["refusal_accuracy"] == 0.0 and report.metrics["keyword_recall"] == 1.0
    assert helper.asked == [{"top_k": 2}, {"top_k": 2}] and seen[0] == 0.0 and seen[-1] == 1.0
    assert "| q002 |" in report.markdown and "support_threshold = 0.5" in report.markdown
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["metrics"] == report.metrics and len(saved["records"]) == 2
    assert report.chart_path.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "out" / "report.md").exists()


def test_compare_runs_every_combination_into_one_table(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(item()) + "\n")
    helper, seen = StandIn(), []
    result = compare(helper, path, {"top_k": ["2", "6"], "retrieval": ["bm25"]}, progress=lambda f, m: seen.append(f),
                     out_dir=tmp_path / "cmp")
    assert helper.asked == [{"top_k": 2, "retrieval": "bm25"}, {"top_k": 6, "retrieval": "bm25"}]
    rows = [line for line in result.markdown.splitlines() if line.startswith("| top_k=")]
    assert [row.split(" | ")[0] for row in rows] == ["| top_k=2,retrieval=bm25", "| top_k=6,retrieval=bm25"]
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert (tmp_path / "cmp" / "compare.md").exists() and (tmp_path / "cmp" / "top_k=6,retrieval=bm25" / "report.md").exists()


# --- end to end: the real model on the bundled corpus --------------------------------------------------

@pytest.mark.slow  # `rag eval` in a subprocess: the model answers
def test_eval_command_end_to_end(tmp_path, corpus, model_path):
    lines = (ROOT / "tests" / "testset.jsonl").read_text().splitlines()
    testset = tmp_path / "three.jsonl"  # two answerable and one unanswerable, so every metric applies
    testset.write_text("\n".join([lines[0], lines[1], next(l for l in lines if '"answerable": false' in l)]) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {"RAG_MODEL": str(model_path)}
    out, result_json = tmp_path / "out", tmp_path / "result.json"
    run = subprocess.run([sys.executable, "-m", "rag", "eval", "--limit", "3", "--testset", str(testset),
                          "--corpus", str(corpus), "--data", str(tmp_path / "data"), "--out", str(out),
                          "--json", str(result_json)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(result_json.read_text())
    metrics = data["metrics"]
    for name in METRIC_NOTES:
        assert metrics[name] is None or 0.0 <= metrics[name] <= 1.0, name
    for name in ("hit_at_k", "mrr", "keyword_recall", "token_f1", "semantic_similarity", "refusal_accuracy",
                 "false_refusal_rate"):
        assert metrics[name] is not None, name
    for name in ("ttft_p50_ms", "ttft_p95_ms", "total_p50_ms", "tokens_per_s"):
        assert metrics[name] > 0, name
    assert len(data["records"]) == 3 and (out / "report.md").exists() and (out / "chart.png").stat().st_size > 0
    assert "hit_at_k" in run.stdout
    records = {r["id"]: r for r in data["records"]}
    unanswerable = next(json.loads(l)["id"] for l in lines if '"answerable": false' in l)
    # The bundled model at temperature 0 on the bundled article gives these verdicts (q001's answer names
    # Chinese open-source competition but not DeepSeek, so one keyword group of two is missed): a broken
    # metric or a broken pipeline changes them.
    assert {k: r["verdict"] for k, r in records.items()} == {"q001": "partial", "q002": "correct",
                                                            unanswerable: "refused (correct)"}
    assert (records["q001"]["keyword_recall"], records["q002"]["keyword_recall"]) == (0.5, 1.0)
    assert records["q001"]["hit"] is records["q002"]["hit"] is True
    # Known relations between the records and the metrics, and between the records and the corpus.
    from rag.documents import load_document
    items = {i["id"]: i for i in load_testset(testset)}
    for key, record in records.items():
        if not record["answerable"]:
            continue
        texts = []
        for where in record["passages"]:  # "source:start-end" of each passage the model was given
            source, span = where.rsplit(":", 1)
            start, end = map(int, span.split("-"))
            texts.append(load_document(corpus / source, corpus).text[start:end])
        assert record["hit"] == any(contains_evidence(t, q) for t in texts for q in items[key]["evidence"]), key
    answerable = [r for r in records.values() if r["answerable"]]
    assert metrics["hit_at_k"] == pytest.approx(sum(r["hit"] for r in answerable) / len(answerable))
    assert metrics["keyword_recall"] == pytest.approx(sum(r["keyword_recall"] for r in answerable) / len(answerable))
    assert metrics["refusal_accuracy"] == float(records[unanswerable]["refused"])
    assert metrics["false_refusal_rate"] == pytest.approx(sum(r["refused"] for r in answerable) / len(answerable))

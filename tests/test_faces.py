"""One output rule for every face: an article, a question and an answer full of images, links, scripts and frames
come out of each face inert. Each face's output is rendered by a real Markdown renderer (markdown-it: CommonMark
with raw HTML on, GFM's autolinks on) and must hold no live image, link, script, frame or event handler. No
model: the Answer is built here, as the pipeline hands it to the faces.

The one field left raw is a citation's ``text`` in the answer JSON of ``/v1``, ``/ask`` and ``rag ask --json``
(documented so: it is the article's exact text, for its offsets); the page escapes it where it shows it.
"""
from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from rag.answer import Answer, Citation, Timings
from rag.citations import Claim
from rag.index import DocInfo
from rag.retrieval import Passage
from rag.settings import Settings

from test_text import markdown

TITLE = "Zorbaville harbour <img src=x onerror=alert(1)> reopens"
TEXT = ("Ships returned to Zorbaville harbour on Sunday. ![tracker](http://203.0.113.9/p.png) "
        "<script>alert(1)</script> <iframe src=http://203.0.113.9/f></iframe> More at http://203.0.113.9/x, "
        "www.evil.example and [click](javascript:alert(1)); tips to desk@evil.example.\n\n[ref]: http://203.0.113.9/r")
SOURCE = "zorbaville <img src=x>.md"
QUESTION = "When did Zorbaville harbour reopen? ![q](http://203.0.113.9/q.png) <iframe src=//203.0.113.9/>"
ANSWER = "It reopened on Sunday <img src=x onerror=alert(1)> [1]. ![t](http://203.0.113.9/a.png) See www.evil.example."
LIVE_TAGS = {"a", "img", "script", "iframe", "frame", "object", "embed", "svg", "video", "audio", "source", "link",
             "form", "input", "base", "meta", "style", "picture"}


class Live(HTMLParser):
    """The live parts of rendered HTML: tags that fetch, run or link, and event-handler or script attributes."""

    def __init__(self, allowed_href: str = "\0"):
        super().__init__()
        self.found, self.allowed_href = [], allowed_href

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in LIVE_TAGS and not (tag == "a" and (values.get("href") or "").startswith(self.allowed_href)):
            self.found.append(f"<{tag} {values}>")
        self.found += [f"{tag}[{k}]" for k, v in attrs if k.startswith("on")
                       or (v or "").strip().lower().startswith(("javascript:", "data:", "vbscript:"))]


def live(text: str, allowed_href: str = "\0", rendered: bool = True) -> list[str]:
    """What is live in text rendered as Markdown (or in text already HTML, when not rendered)."""
    parser = Live(allowed_href)
    parser.feed(markdown().render(text) if rendered else text)
    return parser.found


def test_the_checker_finds_what_the_probe_found():
    raw = f"# {TITLE}\n\n{TEXT}\n\n{ANSWER}"
    found = " ".join(live(raw))
    for part in ("<img", "<script", "<iframe", "<a", "img[onerror]"):  # (markdown-it itself drops javascript: links)
        assert part in found, (part, found)


def hostile_answer() -> Answer:
    passage = Passage("d1:abc:0", "d1", TITLE, SOURCE, TEXT, 0, len(TEXT), 0.9, 0.8, "2024-06-15")
    citation = Citation(1, "d1", TITLE, SOURCE, "d1:abc:0", TEXT, 0, len(TEXT), True, [(0, 46)], "2024-06-15")
    claims = [Claim("It reopened on Sunday <img src=x onerror=alert(1)> [1].", [1], [1])]
    timings = Timings(retrieve_ms=20, ttft_ms=900, total_ms=2000, prompt_tokens=300, completion_tokens=30)
    return Answer(QUESTION, ANSWER, False, [citation], [passage], claims, timings, "model.gguf",
                  standalone_question=QUESTION)


def strings(value, path=""):
    """Every string in a JSON value, with where it is: ``[('citations.0.title', '…'), …]``."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from strings(item, f"{path}.{n}")


def live_strings(value, raw=()) -> dict:
    """{path: what is live} for every string of a JSON value but the documented raw fields (paths ending so)."""
    return {path: found for path, text in strings(value)
            if not any(path.endswith(r) for r in raw) and (found := live(text))}


def test_conversation_export():
    from rag.web.conversations import answer_record, export_markdown

    turn = {"question": QUESTION, "answer": ANSWER, "status": "answer", "record": answer_record(hostile_answer())}
    exported = export_markdown(QUESTION, [turn])
    assert live(exported) == [], exported
    assert "Zorbaville harbour < img src=x onerror=alert(1)> reopens" in exported  # nothing removed, only broken


def test_mcp_results():
    from rag.web.mcp_tools import answer_json, document_json, passage_json

    answer = hostile_answer()
    assert live_strings(passage_json(1, answer.passages[0])) == {}
    assert live_strings(answer_json(answer)) == {}
    document = DocInfo("d1", TITLE, SOURCE, 3, "2026-12-01T10:00:00+00:00", True, "2024-06-15")
    assert live_strings(document_json(document, "articles")) == {}


def test_v1_and_the_answer_json_leave_only_the_citations_text_raw():
    from rag.web.openai_api import chunk_body, completion_body, last_chunk, stream_epilogue

    record = hostile_answer().to_json()
    body = completion_body(record, "c1", 0, 256)
    assert live_strings(body, raw=[".text"]) == {}
    assert body["citations"][0]["text"] == TEXT, "documented raw: the article's exact text, for its offsets"
    assert live_strings(last_chunk(record, "c1", 0, 256), raw=["citations.0.text"]) == {}
    assert live(stream_epilogue({**record, "sentences": [{"text": record["sentences"][0]["text"], "supported": False}]})) == []
    assert live_strings(chunk_body("c1", 0, {"content": record["answer"]})) == {}
    assert live_strings(record, raw=["citations.0.text"]) == {}  # rag ask --json and /ask


def test_a_stream_made_inert_piece_by_piece():
    """/v1 streams the model's words a piece at a time: cut anywhere, the pieces joined render nothing live."""
    from rag.text import inert_piece

    for size in (1, 3, 7, 20):
        pieces = [ANSWER[i:i + size] for i in range(0, len(ANSWER), size)]
        sent = "".join(inert_piece("".join(pieces[:n]), piece) for n, piece in enumerate(pieces))
        assert live(sent) == [], (size, sent)


def test_the_command_line(capsys):
    from rag.cli import print_answer

    print_answer(hostile_answer())
    printed = capsys.readouterr().out
    assert live(printed) == [], printed


def test_the_command_lines_link_report():
    from rag.web.links import LinkImport, link_lines
    from rag.web.uploads import UploadResult

    state = LinkImport(UploadResult(saved=[TITLE + ".md"], failed=[("x", "http://203.0.113.9/x: the site answered 404 "
                                                                       "Not Found; see <img src=x onerror=alert(1)>.")]))
    assert live("\n\n".join(link_lines(state))) == []


class HostileAssistant:
    """An Assistant-shaped stand-in for the evaluation: every answer is the hostile one."""

    generator = type("G", (), {"name": "model <img src=x>.gguf",
                               "describe": lambda self: {"file": "model`<img src=x onerror=alert(1)>`.gguf"}})()

    def with_overrides(self, overrides):
        return Settings(**overrides)

    def ask(self, question, history=(), **overrides):
        return hostile_answer()

    @staticmethod
    def similarity(sentence, others):
        return [0.5 for _ in others]


@pytest.fixture
def evaluated(tmp_path):
    from rag.evaluation.run import run_evaluation

    testset = tmp_path / "news <img src=x onerror=alert(1)>.jsonl"
    testset.write_text(json.dumps({"id": "q1 ![i](http://203.0.113.9/id.png)", "question": QUESTION, "answer": TEXT,
                                   "answerable": True, "evidence": ["Ships returned"], "keywords": [["Sunday"]]}) + "\n")
    return run_evaluation(HostileAssistant(), testset, out_dir=tmp_path / "out", overrides={"top_k": 2})


def test_evaluation_report_file_and_tab(evaluated):
    from rag.web.tabs import evaluation_markdown

    report = markdown().enable("table").render(evaluated.markdown)  # as GitHub and the page render it: tables on
    parser = Live()
    parser.feed(report)
    assert [f for f in parser.found if "chart.png" not in f] == [], "only the report's own chart may be an image"
    assert live(evaluation_markdown(evaluated.markdown, "out")) == []

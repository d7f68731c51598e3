"""The chat's named API endpoints through gradio_client, on the real app; and the start-up access rules.

Endpoints: /ask (the answer JSON of ``rag ask --json``), /documents, /upload (a file), /delete, /evaluate
(the Evaluation tab: report Markdown and chart), /chat (the Chat tab, per-session history: tests/test_load.py).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.app_fixtures import (NEW_ARTICLE_DATE, NEW_ARTICLE_QUESTION, ROOT, SEED_QUESTION, app_server, article_files,  # noqa: F401
                                clean_env, free_port, model_file)

ANSWER_KEYS = {"question", "answer", "refused", "citations", "timings", "model", "standalone_question", "withheld",
               "confidence", "stated", "refused_by", "reason", "grounded", "signals", "marked", "sentences", "sources",
               "as_of", "as_of_line", "today", "time", "timeline"}


@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client

    return Client(app_server.url, verbose=False, download_files=False)


def test_named_endpoints_are_exposed(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ask", "/documents", "/upload", "/replace", "/delete", "/chat", "/evaluate"} <= set(endpoints)


def test_ask_returns_the_answer_json_with_checked_citations(client):
    answer = client.predict(SEED_QUESTION, api_name="/ask")
    assert set(answer) == ANSWER_KEYS
    assert answer["question"] == SEED_QUESTION and not answer["refused"]
    assert answer["citations"], answer["answer"]
    cited = {c["n"] for c in answer["citations"]}
    assert cited <= {s["n"] for s in answer["sources"]}  # every cited number is a source shown to the model
    assert all(f"[{n}]" in answer["answer"] for n in cited)
    assert answer["timings"]["retrieve_ms"] > 0 and answer["timings"]["completion_tokens"] > 0


def test_empty_question_is_a_readable_error(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Please type a question."):
        client.predict("   ", api_name="/ask")


def test_upload_ask_and_delete_a_new_article(client, app_server, article_files):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    before = client.predict(api_name="/documents")
    assert [d["source"] for d in before] == ["altman-china-ai-open-weights.md"]

    added = client.predict(handle_file(str(article_files["good"])), api_name="/upload")
    assert added["saved"] == ["zorblax-festival.md"] and added["failed"] == []
    again = client.predict(handle_file(str(article_files["good"])), api_name="/upload")  # a taken name: a copy
    assert again["saved"] == ["zorblax-festival (2).md"] and again["replaced"] == [] and again["failed"] == []
    swapped = client.predict(handle_file(str(article_files["good"])), api_name="/replace")  # replace asked for
    assert swapped["replaced"] == ["zorblax-festival.md"] and swapped["saved"] == []
    copy_id = next(d["doc_id"] for d in client.predict(api_name="/documents") if d["source"] == "zorblax-festival (2).md")
    client.predict(copy_id, api_name="/delete")
    refused = client.predict(handle_file(str(article_files["bad"])), api_name="/upload")
    assert refused["saved"] == [] and "binary" in refused["failed"][0][1]
    assert not (app_server.corpus / "not-really-text.txt").exists()
    docs = {d["title"]: d for d in client.predict(api_name="/documents")}
    assert set(docs) == {before[0]["title"], "The Zorblax river festival"}

    answer = client.predict(NEW_ARTICLE_QUESTION, top_k=2, max_tokens=96, api_name="/ask")  # per-question settings
    assert len(answer["sources"]) <= 2
    assert "Brevik" in answer["answer"], answer["answer"]
    assert any(c["title"] == "The Zorblax river festival" for c in answer["citations"])
    assert {c["date"] for c in answer["citations"] if c["title"] == "The Zorblax river festival"} == {NEW_ARTICLE_DATE}
    assert docs["The Zorblax river festival"]["date"] == NEW_ARTICLE_DATE and docs[before[0]["title"]]["date"] == ""

    doc_id = docs["The Zorblax river festival"]["doc_id"]
    assert "removed from the corpus folder" in client.predict(doc_id, api_name="/delete")
    assert not (app_server.corpus / "zorblax-festival.md").exists()
    assert [d["source"] for d in client.predict(api_name="/documents")] == ["altman-china-ai-open-weights.md"]
    with pytest.raises(AppError, match="not in the index"):
        client.predict(doc_id, api_name="/delete")


def test_an_upload_the_pdf_reader_gives_up_on_gets_its_sentence_in_the_api(client, app_server, tmp_path):
    from gradio_client import handle_file

    from test_documents import LIMIT_SENTENCE, limit_bomb_pdf

    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(limit_bomb_pdf())
    refused = client.predict(handle_file(str(bomb)), api_name="/upload")
    assert refused == {"saved": [], "replaced": [], "failed": [["bomb.pdf", LIMIT_SENTENCE]], "summary": ""}
    assert not (app_server.corpus / "bomb.pdf").exists()


def test_a_question_is_answered_while_a_long_upload_is_still_being_indexed(client, app_server, tmp_path):
    """The upload takes its turns on the model a batch at a time: a question from another session waits for one batch,
    not the upload."""
    from gradio_client import Client, handle_file

    long = tmp_path / "long-report.txt"
    long.write_text("\n\n".join(f"Paragraph {i} of the long report on Rottnest Island quokkas, their burrows, "
                                 "ferries and visitors. " * 6 for i in range(700)), encoding="utf-8")
    upload = client.submit(handle_file(str(long)), api_name="/upload")
    deadline = time.monotonic() + 300
    while not any(d["source"] == long.name for d in client.predict(api_name="/documents")):  # its first batch is in
        assert time.monotonic() < deadline and not upload.done(), "the upload never started writing"
        time.sleep(0.2)
    answer = Client(app_server.url, verbose=False, download_files=False).predict(SEED_QUESTION, max_tokens=48, api_name="/ask")
    assert answer["answer"] and answer["citations"] and not upload.done(), "the question waited for the whole upload"
    assert upload.result(timeout=900)["saved"] == [long.name]
    doc = next(d for d in client.predict(api_name="/documents") if d["source"] == long.name)
    assert doc["complete"] and doc["chunks"] > 5 * 64
    client.predict(doc["doc_id"], api_name="/delete")


def test_evaluate_runs_the_bundled_test_set_on_the_index(client, app_server):
    """The report shows the question being answered while it runs, then the report and its chart."""
    job = client.submit(None, 1, api_name="/evaluate")
    report, chart = job.result(timeout=600)
    shown = [output[0] for output in job.outputs()]
    assert shown[0].startswith("⏳ Question 1/1: ") and shown[-1] == report, shown
    assert report.startswith("# Evaluation: testset.jsonl") and "| hit_at_k (k=4) |" in report, report[:500]
    assert "1 questions" in report and "0 failed" in report and "![" not in report  # the chart comes separately
    with urllib.request.urlopen(chart["url"], timeout=30) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    (run,) = (app_server.home / "eval").iterdir()  # <home>/eval/<timestamp>/
    assert f"<code>eval/{run.name}</code> in the data folder" in report and str(app_server.home) not in report  # no
    assert {p.name for p in run.iterdir()} == {"report.md", "results.json", "chart.png", "risk.png"}  # server folder
    results = json.loads((run / "results.json").read_text())
    assert [r["id"] for r in results["records"]] == ["q001"] and results["settings"]["home"] == str(app_server.home)


def test_evaluate_names_the_bad_line_of_an_uploaded_test_set(client, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "mine.jsonl"
    first = (ROOT / "tests" / "testset.jsonl").read_text(encoding="utf-8").splitlines()[0]
    bad.write_text(first + "\n{not json\n", encoding="utf-8")
    report, chart = client.predict(handle_file(str(bad)), 5, api_name="/evaluate")
    assert report.startswith("⚠️") and "mine.jsonl, line 2: not valid JSON" in report and chart is None


@pytest.mark.parametrize("host, password, auth", [
    ("127.0.0.1", None, None), ("localhost", None, None), ("::1", None, None),
    ("127.0.0.1", "pw", ("rag", "pw")), ("0.0.0.0", "twelve-chars", ("rag", "twelve-chars")),
])
def test_access_rules(host, password, auth):
    from rag.web.access import check_access
    from rag.settings import Settings

    assert check_access(Settings(host=host, password=password)) == auth


def test_refuses_to_start_on_the_network_without_a_password(tmp_path):
    """Fails fast, before loading the model, with a sentence saying what to do."""
    env = clean_env(RAG_HOME=str(tmp_path / "home"), RAG_CORPUS=str(tmp_path))
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--host", "0.0.0.0", "--port", str(free_port())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "RAG_PASSWORD" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("variables, named", [({"RAG_PASSWORD": "short"}, "RAG_PASSWORD"),
                                              ({"RAG_PASSWORD": "long-enough-password", "RAG_API_KEY": "key-1234"},
                                               "RAG_API_KEY")])
def test_refuses_a_short_password_or_key_beyond_loopback(tmp_path, variables, named):
    env = clean_env(RAG_HOME=str(tmp_path / "home"), RAG_CORPUS=str(tmp_path), **variables)
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--host", "0.0.0.0", "--port", str(free_port())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert named in done.stderr and "at least 12 characters" in done.stderr, done.stderr

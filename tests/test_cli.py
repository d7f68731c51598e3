"""The command line as a user runs it: a subprocess, JSON out, one-line errors and exit codes."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, SEED_QUESTION, SEED_REASON
from test_documents import operations_bomb_pdf


def run(*args, env=None, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.slow  # runs the CLI in a subprocess: it loads the models
def test_ingest_then_ask_json_answers_with_each_citations_article_and_date(model_path, corpus):
    (corpus / "festival.md").write_text("---\ntitle: The Zorblax river festival\ndate: 2024-06-15\n---\n"
                                        "The Zorblax river festival in Vellmora was founded in 1987 by the fisherman "
                                        "Anouk Brevik.\n", encoding="utf-8")
    ingest = run("ingest")
    assert ingest.returncode == 0, ingest.stderr
    assert "2 added" in ingest.stdout
    question = "Who founded the Zorblax river festival?"
    result = run("ask", "--json", "--model", str(model_path), question)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == question and not data["refused"] and "Brevik" in data["answer"], data["answer"]
    assert any("Anouk Brevik" in c["text"] for c in data["citations"]), data["citations"]
    assert data["timings"]["ttft_ms"] > 0 and data["as_of"] == "2024-06-15"
    dates = {c["source"]: c["date"] for c in data["citations"]}
    assert dates.get("festival.md") == "2024-06-15", data
    assert {s["source"]: s["date"] for s in data["sources"]}["festival.md"] == "2024-06-15"


@pytest.mark.slow  # runs the CLI in a subprocess, some cases past the model's load
@pytest.mark.parametrize("args, env, message", [
    (["ask", "--model", "/no/such/model.gguf", "Why?"], {}, "Model file not found"),
    (["ask", "   "], {}, "Please type a question"),
    (["ingest", "/no/such/folder"], {}, "Not found"),
    (["ask", "Why?"], {"RAG_TOPK": "3"}, "Unknown setting RAG_TOPK"),
    (["ask", "--top-k", "0", "Why?"], {}, "top_k"),
])
def test_errors_are_one_line_with_exit_code_1(args, env, message, model_path):
    env = {"RAG_MODEL": str(model_path), **env}
    result = run(*args, env=env)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


@pytest.mark.slow  # runs the CLI in a subprocess: it loads the models
def test_corrupt_index_points_at_the_rebuild(isolated_env, model_path):
    assert run("ingest").returncode == 0
    index_dir = isolated_env / "home" / "index"
    for file in index_dir.rglob("*.sqlite3"):
        file.write_bytes(b"this is not a database" * 100)
    result = run("ask", "--model", str(model_path), SEED_QUESTION)
    assert result.returncode == 1 and "rebuild" in result.stderr and "Traceback" not in result.stderr
    rebuilt = run("ingest", "--rebuild")
    assert rebuilt.returncode == 0 and "1 added" in rebuilt.stdout, rebuilt.stderr


def test_the_terminal_answer_marks_a_citation_its_passage_does_not_back(capsys):
    from rag.cli import print_answer
    from rag.pipeline import Answer, Citation, Timings

    cites = [Citation(1, "d", "T", "a.md", "c1", "Backed.", 0, 7, True),
             Citation(2, "d", "T", "a.md", "c2", "Other.", 8, 14, False)]
    answer = Answer("q?", "Backed [1]. Not backed [2].", False, cites, [], [], Timings(), "m.gguf")
    print_answer(answer)
    out = capsys.readouterr().out
    assert "Backed [1]. Not backed [2?]." in out and "(not supported by this passage)" in out


@pytest.mark.slow  # runs the CLI in a subprocess: it loads the models
def test_ingest_reports_a_pdf_the_reader_gives_up_on_exits_cleanly_and_indexes_the_rest(corpus):
    bomb = corpus / "a-bomb.pdf"  # first in order: the files after it must still be indexed
    bomb.write_bytes(operations_bomb_pdf())
    assert bomb.stat().st_size < 20_000
    (corpus / "zebras.txt").write_text("Zebras in the Serengeti migrate north in July.", encoding="utf-8")
    result = run("ingest")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert ("skipped: a-bomb.pdf: the PDF is built to expand past the PDF reader's safety limits, so it is not read."
            in result.stderr.splitlines())
    assert "2 added, 0 updated, 0 unchanged, 0 removed, 1 failed" in result.stdout

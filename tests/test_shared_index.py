"""Several processes, one index: real processes sharing one `chroma run` server (and, for the apps, one model server)."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from rag.index import Index, index_version, is_complete
from rag.settings import Settings
from tests.app_fixtures import NEW_ARTICLE, NEW_ARTICLE_QUESTION, clean_env, model_file  # noqa: F401  (fixture)
from tests.conftest import ROOT, SEED_QUESTION
from tests.server_fixtures import MODEL_ALIAS, chroma_server, llm_server, running_apps

ARTICLES = 40


def write_articles(corpus: Path, count: int) -> None:
    """count small distinct articles of 3 to 12 sentences (so 1 to several chunks each)."""
    for n in range(count):
        sentences = " ".join(f"In {1900 + n} the town of Place{n} recorded event {k} of its long history, "
                             f"which the council of Place{n} described in report number {n * 100 + k}."
                             for k in range(3 + n % 10))
        (corpus / f"article-{n:03d}.md").write_text(f"---\ntitle: Place{n} chronicle\n---\n{sentences}\n", encoding="utf-8")


def test_two_processes_ingesting_at_once_neither_duplicate_nor_lose_chunks(tmp_path, corpus, embedder):
    write_articles(corpus, ARTICLES)
    with chroma_server(tmp_path / "chroma") as port:
        env = clean_env(RAG_HOME=str(tmp_path / "home"), RAG_CORPUS=str(corpus), RAG_CHROMA_HOST="127.0.0.1",
                        RAG_CHROMA_PORT=str(port))
        ingests = [subprocess.Popen([sys.executable, "-m", "rag", "ingest"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=600)[0] for p in ingests]
        assert [p.returncode for p in ingests] == [0, 0], outputs
        written = [int(out.split(" chunks written")[0].rsplit(", ", 1)[-1]) for out in outputs]
        assert all(written), f"the two ingests did not overlap, so this run tested nothing concurrent: {outputs}"
        index = Index(Settings.load(chroma_host="127.0.0.1", chroma_port=port), embedder)
        state = index.stored_state()
        files = sorted(p.name for p in corpus.iterdir())
        assert sorted(entry["source"] for entry in state.values()) == files  # every file, once
        assert all(is_complete(entry) for entry in state.values())  # one version each, every chunk of it present
        metas = index.read_all(["metadatas"])
        assert len(set(metas["ids"])) == len(metas["ids"]) == index.count()
        assert index.count() == sum(entry["expected"][index_version(meta)] for entry, meta in
                                    ((state[m["doc_id"]], m) for m in {m["doc_id"]: m for m in metas["metadatas"]}.values()))
        assert Counter(m["index"] for m in metas["metadatas"])[0] == len(files)  # one first chunk per document
        assert index.ingest().chunks_written == 0  # a third ingest finds everything in step


def test_an_upload_through_one_app_is_answered_by_the_other(tmp_path, model_file):  # noqa: F811
    """Two app.py processes on different ports, one `chroma run`, one llama_cpp.server and one corpus folder."""
    from gradio_client import Client, handle_file

    with chroma_server(tmp_path / "chroma") as port, llm_server(model_file, tmp_path) as llm:
        env = dict(RAG_CHROMA_HOST="127.0.0.1", RAG_CHROMA_PORT=str(port), RAG_LLM_URL=llm.url,
                   RAG_LLM_MODEL=MODEL_ALIAS)
        with running_apps(tmp_path, 2, **env) as (first, second):
            asker = Client(second.url, verbose=False, download_files=False)
            assert not asker.predict(SEED_QUESTION, max_tokens=48, api_name="/ask")["refused"]  # BM25 built in B
            upload = tmp_path / "zorblax-festival.md"
            upload.write_text(NEW_ARTICLE, encoding="utf-8")
            Client(first.url, verbose=False, download_files=False).predict(handle_file(str(upload)), api_name="/upload")
            titles = [d["title"] for d in asker.predict(api_name="/documents")]
            assert "The Zorblax river festival" in titles, titles
            answer = asker.predict(NEW_ARTICLE_QUESTION, max_tokens=64, api_name="/ask")
            assert "Brevik" in answer["answer"], (answer, second.log_tail())
            assert any(c["title"] == "The Zorblax river festival" for c in answer["citations"])

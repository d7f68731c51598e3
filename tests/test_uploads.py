"""Uploads: safe corpus file names, type/size/content checks, and saving, indexing and deleting files."""
import os
import unicodedata
from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from rag.errors import DocumentError, RagError
from rag.web.uploads import add_uploads, check_upload, delete_document, keep_safe, numbered_name, safe_file_name


@pytest.mark.parametrize("name, safe", [
    ("../../etc/Grüße: ¿qué?.TXT", "Grüße_ _qué.txt"),
    ("C:\\Users\\me\\..\\.bashrc.md", "bashrc.md"),
    ("新闻 报道.html", "新闻 报道.html"),
    ("हिन्दी समाचार.md", "हिन्दी समाचार.md"),
    ("a<script>.txt", "a_script.txt"),
    ("a..b.txt", "a.b.txt"),
    ("..", "document"),
    ("...txt", "document.txt"),
    ("evil\x00name.txt", "evilname.txt"),
    ("", "document"),
])
def test_safe_file_name(name, safe):
    assert safe_file_name(name) == safe


@given(st.text(max_size=300))
def test_safe_names_stay_inside_the_corpus_folder(name):
    safe = safe_file_name(name)
    assert "/" not in safe and "\\" not in safe and ".." not in safe  # invariant: no path escapes
    assert safe and not safe.startswith(".")  # invariant: never hidden, never empty
    assert len(safe) <= 120
    assert safe_file_name(safe) == safe  # invariant: sanitising is idempotent


@given(st.text(st.characters(categories=["L"]), min_size=1, max_size=40))
def test_letters_of_any_script_are_kept(stem):
    stem = unicodedata.normalize("NFC", stem)
    assert safe_file_name(stem + ".md") == stem + ".md"


def test_keep_safe_replaces_everything_but_letters_marks_digits_and_some_punctuation():
    assert keep_safe("हिन्दी/news?", "_") == "हिन्दी_news_"


@pytest.mark.parametrize("name, size, head, reason", [
    ("notes.odt", 10, b"PK", "unsupported file type '.odt'"),
    ("notes.docx", 10, b"hello", "not a docx file"),  # Word and e-book files are zip archives
    ("book.epub", 10, b"%PDF-1.7", "not a epub file"),
    ("noext", 10, b"abc", "unsupported file type 'none'"),
    ("empty.txt", 0, b"", "empty"),
    ("big.md", 51 * 1024 * 1024, b"# big", "over the 50 MB upload limit"),
    ("fake.pdf", 10, b"hello", "not a PDF"),
    ("zip.txt", 100, b"PK\x03\x04\x00\x00binary", "binary"),
])
def test_check_upload_refuses_with_a_reason(name, size, head, reason):
    with pytest.raises(DocumentError, match=reason):
        check_upload(name, size, head, 50.0)


@pytest.mark.parametrize("name, head", [("a.md", b"# Title\nText"), ("b.PDF", b"%PDF-1.7\n"),
                                        ("c.html", b"<html><body>Hi</body></html>"),
                                        ("d.docx", b"PK\x03\x04\x14\x00\x06\x00"), ("e.epub", b"PK\x03\x04\n\x00")])
def test_check_upload_accepts_articles(name, head):
    assert check_upload(name, len(head), head, 50.0) == safe_file_name(name)


@pytest.fixture
def library(index, settings):
    """The parts of an Assistant uploads use: settings, a real index (real Chroma and embedder), ingest, and (for the
    Documents tab's handlers) in_collection, which is itself here: the default collection."""
    parts = SimpleNamespace(settings=settings, index=index,
                            ingest=lambda paths=None, progress=None: index.ingest(paths, progress))
    parts.in_collection = lambda name=None: parts
    return parts


def test_upload_saves_indexes_and_delete_removes_both(library, settings, tmp_path):
    upload = tmp_path / "weird name?.md"
    upload.write_text("---\ntitle: Heron prize\n---\nThe winning crew gets a carved wooden heron.\n", encoding="utf-8")
    messages = []
    result = add_uploads(library, [("../weird name?.md", upload)], lambda f, m: messages.append((f, m)))
    assert result.saved == ["weird name.md"] and not result.failed
    assert (settings.corpus / "weird name.md").is_file() and messages[-1][0] == 1.0
    doc = next(d for d in library.index.documents() if d.title == "Heron prize")
    assert "removed from the corpus folder" in delete_document(library, doc.doc_id)
    assert not (settings.corpus / "weird name.md").exists()
    assert "Heron prize" not in [d.title for d in library.index.documents()]
    with pytest.raises(DocumentError, match="not in the index"):
        delete_document(library, doc.doc_id)


def test_bad_upload_leaves_corpus_and_index_alone(library, settings, tmp_path):
    library.ingest()
    before = library.index.documents()
    existing = sorted(p.name for p in settings.corpus.iterdir())
    fake = tmp_path / "altman-china-ai-open-weights.md"  # same name as the corpus article: must not replace it
    fake.write_bytes(b"\x00\x01binary" * 100)
    result = add_uploads(library, [(fake.name, fake)])
    assert result.saved == [] and "binary" in result.failed[0][1]
    assert sorted(p.name for p in settings.corpus.iterdir()) == existing
    assert library.index.documents() == before


def test_file_the_index_cannot_read_is_removed_again(library, settings, tmp_path, monkeypatch):
    upload = tmp_path / "fine.md"
    monkeypatch.setattr("rag.web.uploads.trial_read", lambda path, name, reader: None)  # let it reach the ingest
    upload.write_text("   \n\n  ", encoding="utf-8")  # holds no readable text: the ingest reports it failed
    result = add_uploads(library, [("fine.md", upload)])
    assert result.saved == [] and "no readable text" in result.failed[0][1]
    assert not (settings.corpus / "fine.md").exists()


# --- names that are taken: numbered copies, replacing on request, links, failures undone ----------------

ARTICLE = "altman-china-ai-open-weights.md"


def snapshot(library, settings):
    """Everything an upload may touch: every corpus entry's bytes (links as links) and every stored chunk."""
    files = {p.name: ("link", os.readlink(p)) if p.is_symlink() else p.read_bytes() for p in settings.corpus.iterdir()}
    got = library.index.collection.get(include=["documents", "metadatas"])
    chunks = {cid: (text, meta["content_hash"]) for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])}
    return files, chunks


def article(tmp_path, name, title, body="The winning crew gets a carved wooden heron.", repeat=1):
    path = tmp_path / "uploads" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"---\ntitle: {title}\n---\n" + (body + "\n") * repeat, encoding="utf-8")
    return path


def titles(library):
    return sorted(d.title for d in library.index.documents())


def test_an_upload_named_like_an_article_is_kept_beside_it(library, settings, tmp_path):
    library.ingest()
    (original_files, original_chunks), before = snapshot(library, settings), titles(library)
    result = add_uploads(library, [(ARTICLE, article(tmp_path, ARTICLE, "Heron prize"))])
    assert (result.saved, result.replaced, result.failed) == (["altman-china-ai-open-weights (2).md"], [], [])
    assert (settings.corpus / ARTICLE).read_bytes() == original_files[ARTICLE]
    assert titles(library) == sorted(before + ["Heron prize"])
    assert set(original_chunks) <= set(snapshot(library, settings)[1])


def test_replace_swaps_the_article_and_its_chunks(library, settings, tmp_path):
    library.ingest()
    upload = article(tmp_path, ARTICLE, "Heron prize")
    result = add_uploads(library, [(ARTICLE, upload)], replace=True)
    assert (result.saved, result.replaced, result.failed) == ([], [ARTICLE], [])
    assert (settings.corpus / ARTICLE).read_bytes() == upload.read_bytes()
    assert titles(library) == ["Heron prize"] and all(d.complete for d in library.index.documents())
    assert sorted(p.name for p in settings.corpus.iterdir()) == [ARTICLE], "no backup or temporary file is left"


@pytest.mark.parametrize("replace", [False, True])
def test_colliding_uploads_in_one_batch_are_all_kept(library, settings, tmp_path, replace):
    first, second = article(tmp_path, "one.md", "First heron"), article(tmp_path, "two.md", "Second heron")
    result = add_uploads(library, [("news?.md", first), ("news*.md", second)], replace=replace)
    assert (result.saved, result.replaced, result.failed) == (["news.md", "news (2).md"], [], [])
    assert (settings.corpus / "news.md").read_bytes() == first.read_bytes()
    assert (settings.corpus / "news (2).md").read_bytes() == second.read_bytes()
    assert {"First heron", "Second heron"} <= set(titles(library))


@pytest.mark.parametrize("replace", [False, True])
def test_an_upload_the_ingest_refuses_leaves_corpus_and_index_as_they_were(library, settings, tmp_path, replace):
    library.ingest()
    before = snapshot(library, settings)
    settings.max_document_mb = 0.006  # about 6.3 KB: the 5.7 KB article passes, the 8 KB upload does not
    upload = article(tmp_path, ARTICLE, "Heron prize", repeat=180)
    assert upload.stat().st_size > 0.006 * 2**20 > (settings.corpus / ARTICLE).stat().st_size
    result = add_uploads(library, [(ARTICLE, upload)], replace=replace)
    assert (result.saved, result.replaced) == ([], []) and "RAG_MAX_DOCUMENT_MB" in result.failed[0][1]
    assert snapshot(library, settings) == before  # the article's bytes, and the same chunks, ids and texts


def test_a_failed_index_write_while_replacing_is_undone(library, settings, tmp_path, monkeypatch):
    """A full disk after the new chunks were written: the article comes back, and so do its chunks alone."""
    library.ingest()
    before = snapshot(library, settings)
    real, calls = library.index.write_guarded, []

    def disk_fills_once(call, **kwargs):  # the real write, except that the second one fails like a full disk
        calls.append(call)
        if len(calls) == 2:
            raise RagError("Could not write to the index (No space left on device).")
        return real(call, **kwargs)

    monkeypatch.setattr(library.index, "write_guarded", disk_fills_once)
    result = add_uploads(library, [(ARTICLE, article(tmp_path, ARTICLE, "Heron prize"))], replace=True)
    assert (result.saved, result.replaced) == ([], []) and "No space left" in result.failed[0][1]
    assert len(calls) > 2, "the original was indexed again after the failure"
    assert snapshot(library, settings) == before


def test_links_in_the_corpus_are_never_written_through_or_replaced(library, settings, tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_text("---\ntitle: Kept elsewhere\n---\nThis file lives outside the corpus.\n", encoding="utf-8")
    (settings.corpus / "linked.md").symlink_to(outside)
    (settings.corpus / "ghost.md").symlink_to(tmp_path / "nowhere.md")  # a dangling link
    kept = outside.read_bytes()
    result = add_uploads(library, [("linked.md", article(tmp_path, "a.md", "Heron one")),
                                   ("ghost.md", article(tmp_path, "b.md", "Heron two"))])
    assert (result.saved, result.failed) == (["linked (2).md", "ghost (2).md"], [])
    assert outside.read_bytes() == kept and not (tmp_path / "nowhere.md").exists()
    assert (settings.corpus / "linked.md").is_symlink() and (settings.corpus / "ghost.md").is_symlink()
    refused = add_uploads(library, [("linked.md", article(tmp_path, "c.md", "Heron three"))], replace=True)
    assert refused.replaced == [] and "is a link or a folder" in refused.failed[0][1]
    assert outside.read_bytes() == kept and (settings.corpus / "linked.md").is_symlink()


@pytest.mark.parametrize("name, n, expected", [
    ("notes.md", 1, "notes.md"), ("notes.md", 2, "notes (2).md"), ("README", 3, "README (3)"),
    ("x" * 117 + ".md", 12, "x" * 112 + " (12).md"),
])
def test_numbered_name(name, n, expected):
    assert numbered_name(name, n) == expected and len(expected) <= 120


@given(st.text(max_size=200), st.integers(1, 10_000))
def test_numbered_names_stay_safe(name, n):
    numbered = numbered_name(safe_file_name(name), n)
    assert safe_file_name(numbered) == numbered  # invariant: still a safe name, unchanged by sanitising
    assert n == 1 or numbered != safe_file_name(name)  # invariant: a copy never takes the original's name


def test_deleting_a_linked_article_removes_the_link_never_its_target(library, settings, tmp_path):
    corpus = settings.corpus
    (corpus / "sub").mkdir()
    real = corpus / "sub" / "real.md"
    real.write_text("---\ntitle: Heron inside\n---\nThe winning crew gets a carved wooden heron.\n", encoding="utf-8")
    outside = tmp_path / "outside.md"
    outside.write_text("---\ntitle: Kept elsewhere\n---\nThis file lives outside the corpus.\n", encoding="utf-8")
    (corpus / "link.md").symlink_to(real)
    (corpus / "away.md").symlink_to(outside)
    library.ingest()
    sources = lambda: sorted(d.source for d in library.index.documents())  # noqa: E731
    assert sources() == [ARTICLE, "link.md", "sub/real.md"], "a link leading outside the corpus is not followed"
    link = next(d for d in library.index.documents() if d.source == "link.md")
    assert "its file was removed from the corpus folder" in delete_document(library, link.doc_id)
    assert not (corpus / "link.md").is_symlink() and not (corpus / "link.md").exists()
    assert real.read_text(encoding="utf-8").endswith("heron.\n") and outside.is_file()
    library.ingest()
    assert sources() == [ARTICLE, "sub/real.md"], "deleted for good: the next ingest does not bring it back"


def test_an_upload_the_pdf_reader_gives_up_on_gets_its_sentence_on_the_page(library, settings, tmp_path):
    from rag.web import presentation as view
    from rag.web.library import Library

    from test_documents import LIMIT_SENTENCE, limit_bomb_pdf

    library.ingest()
    before = snapshot(library, settings)
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(limit_bomb_pdf())
    message, *_ = Library(library).upload_files([str(bomb)], progress=lambda *args, **kwargs: None)
    assert message == f"⚠️ Not added: {view.escape(LIMIT_SENTENCE)}"
    assert snapshot(library, settings) == before

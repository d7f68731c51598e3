"""Uploads: safe corpus file names, type/size/content checks, and saving, indexing and deleting files."""
import unicodedata
from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from rag.errors import DocumentError
from rag.web.uploads import add_uploads, check_upload, delete_document, keep_safe, safe_file_name


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
    ("notes.docx", 10, b"PK", "unsupported file type '.docx'"),
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
                                        ("c.html", b"<html><body>Hi</body></html>")])
def test_check_upload_accepts_articles(name, head):
    assert check_upload(name, len(head), head, 50.0) == safe_file_name(name)


@pytest.fixture
def library(index, settings):
    """The parts of an Assistant uploads use: settings, a real index (real Chroma and embedder), ingest."""
    return SimpleNamespace(settings=settings, index=index,
                           ingest=lambda paths=None, progress=None: index.ingest(paths, progress))


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
    monkeypatch.setattr("rag.web.uploads.trial_read", lambda path, name: None)  # let it reach the ingest
    upload.write_text("   \n\n  ", encoding="utf-8")  # holds no readable text: the ingest reports it failed
    result = add_uploads(library, [("fine.md", upload)])
    assert result.saved == [] and "no readable text" in result.failed[0][1]
    assert not (settings.corpus / "fine.md").exists()

"""Reading documents: every supported type, the metadata, and the refusals with reasons."""
import io

import pytest

from rag.documents import (doc_id_for, find_documents, load_document, looks_binary, normalize_text,
                           title_from_filename)
from rag.errors import DocumentError


def write(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def make_pdf(text: str, password: str | None = None) -> bytes:
    """A one-page PDF holding text, drawn with pypdf's own writer (no extra dependency)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=400, height=200)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    writer.add_metadata({"/Title": "A PDF article"})
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_markdown_front_matter_gives_title_and_body(tmp_path):
    doc = load_document(write(tmp_path / "a.md", '---\ntitle: "Big news"\n---\nFirst line.\n\n\n\nSecond.'), tmp_path)
    assert (doc.title, doc.text, doc.source) == ("Big news", "First line.\n\nSecond.", "a.md")
    assert doc.doc_id == doc_id_for("a.md") and len(doc.content_hash) == 64


def test_markdown_heading_is_the_title(tmp_path):
    doc = load_document(write(tmp_path / "b.md", "# Heading here\nBody text."), tmp_path)
    assert (doc.title, doc.text) == ("Heading here", "Body text.")


def test_plain_text_title_comes_from_the_file_name(tmp_path):
    doc = load_document(write(tmp_path / "chip-export_rules.txt", "Body."), tmp_path)
    assert doc.title == "Chip export rules"


def test_html_keeps_readable_text_only(tmp_path):
    html = ("<html><head><title>Page title</title><style>p{}</style><script>alert('x')</script></head>"
            "<body><nav>Menu</nav><article><h1>Head</h1><p>Para one.</p><script>evil()</script><p>Para two.</p>"
            "</article><footer>Footer</footer></body></html>")
    doc = load_document(write(tmp_path / "p.html", html), tmp_path)
    assert doc.title == "Head"  # the article's own heading (trafilatura) over the window title
    assert "Para one.\nPara two." in doc.text
    assert not any(noise in doc.text for noise in ("alert", "evil", "Footer", "p{}"))


def test_pdf_text_and_title(tmp_path):
    doc = load_document(write(tmp_path / "a.pdf", make_pdf("Chips were banned in May.")), tmp_path)
    assert "Chips were banned in May." in doc.text
    assert doc.title == "A PDF article"


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "no readable text"),
    ("blank.md", b"  \n\n\t ", "no readable text"),
    ("binary.txt", bytes(range(256)) * 10, "binary"),
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "cannot be read"),
    ("locked.pdf", None, "encrypted"),
    ("notes.odt", b"hello", "unsupported file type"),
])
def test_unreadable_documents_are_refused_with_a_reason(tmp_path, name, data, reason):
    data = make_pdf("secret", password="pw") if data is None else data
    with pytest.raises(DocumentError, match=reason) as err:
        load_document(write(tmp_path / name, data), tmp_path)
    assert str(err.value).startswith(name)


def test_invalid_utf8_falls_back_to_windows_1252(tmp_path):
    doc = load_document(write(tmp_path / "latin.txt", "Café – naïve".encode("cp1252")), tmp_path)
    assert doc.text == "Café – naïve"


def test_missing_file_is_a_document_error(tmp_path):
    with pytest.raises(DocumentError, match="cannot be read"):
        load_document(tmp_path / "gone.txt", tmp_path)


def test_find_documents_skips_hidden_and_unsupported(tmp_path):
    tmp_path = tmp_path / "docs"
    (tmp_path / "sub").mkdir(parents=True)
    for name in ("a.txt", "b.md", "c.html", "d.pdf", "e.docx", "g.epub", "h.odt", ".hidden.txt"):
        write(tmp_path / name, "x")
    write(tmp_path / "sub" / "f.txt", "x")
    names = [p.name for p in find_documents([tmp_path])]
    assert names == ["a.txt", "b.md", "c.html", "d.pdf", "e.docx", "g.epub", "f.txt"]  # sub/f.txt sorts last


@pytest.mark.parametrize("raw, clean", [
    ("a \t b\r\n\n\n\nc ", "a b\n\nc"),
    ("zero\u200bwidth\x07bell", "zerowidthbell"),
    ("e\u0301", "\u00e9"),
])
def test_normalize_text(raw, clean):
    assert normalize_text(raw) == clean


def test_helpers():
    assert looks_binary(b"a\x00b") and not looks_binary("plain text\n".encode())
    assert title_from_filename("my-first_article.txt") == "My first article"
    assert doc_id_for("a.txt") == doc_id_for("a.txt") != doc_id_for("b.txt")

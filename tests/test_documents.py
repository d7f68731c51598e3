"""Reading documents: every supported type, the metadata, and the refusals with reasons."""
import io

import pytest

from rag.documents import (Limits, doc_id_for, find_documents, load_document, looks_binary, normalize_text,
                           source_name, title_from_filename)
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


def shared_stream_pdf(pages: int, lines: int = 60) -> bytes:
    """A PDF whose pages all draw one compressed content stream: about 4,000 characters a page, a few bytes a page on disk."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                                NameObject("/Subtype"): NameObject("/Type1"),
                                                NameObject("/BaseFont"): NameObject("/Helvetica")}))
    stream = DecodedStreamObject()
    line = b"(The quokka report says the island is calm today and the ferry runs.) Tj T* "
    stream.set_data(b"BT /F1 12 Tf 14 TL 20 180 Td " + line * lines + b"ET")
    content = writer._add_object(stream.flate_encode())
    for _ in range(pages):
        page = writer.add_blank_page(width=400, height=200)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        page[NameObject("/Contents")] = content
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF file written by hand from its numbered objects (1 is the catalog), with a correct xref table."""
    out, offsets = b"%PDF-1.7\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def limit_bomb_pdf() -> bytes:
    """A 200 KB PDF on which pypdf raises its own LimitReachedError (an array of 100,001 elements), in about a second."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Annots [" + b"0 " * 100_001 + b"] >>"])


def operations_bomb_pdf(operations: int = 1_100_000) -> bytes:
    """The probe's 12 KB PDF: one page of 1.1 M ``(a) Tj`` operations, past pypdf's token budget (about 15 s to reach)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=400, height=200)
    font = writer._add_object(DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                                NameObject("/Subtype"): NameObject("/Type1"),
                                                NameObject("/BaseFont"): NameObject("/Helvetica")}))
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf " + b"(a) Tj " * operations + b"ET")
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


LIMIT_SENTENCE = "bomb.pdf: the PDF is built to expand past the PDF reader's safety limits, so it is not read."


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
    assert doc.title == "Page title"
    assert doc.text == "Head\nPara one.\nPara two."


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
    ("notes.docx", b"hello", "unsupported file type"),
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
    for name in ("a.txt", "b.md", "c.html", "d.pdf", "e.docx", ".hidden.txt"):
        write(tmp_path / name, "x")
    write(tmp_path / "sub" / "f.txt", "x")
    names = [p.name for p in find_documents([tmp_path])]
    assert names == ["a.txt", "b.md", "c.html", "d.pdf", "f.txt"]


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


def test_pypdf_limit_is_a_document_error_of_one_sentence(tmp_path):
    with pytest.raises(DocumentError) as err:
        load_document(write(tmp_path / "bomb.pdf", limit_bomb_pdf()), tmp_path)
    assert str(err.value) == LIMIT_SENTENCE


@pytest.mark.parametrize("failure, reason", [
    (RecursionError, "bomb.html: its structure is nested too deeply to read."),
    (MemoryError, "bomb.html: reading it needs more memory than a document may use (RAG_PARSE_MEMORY_MB)."),
    (AssertionError, "bomb.html: the file cannot be read (AssertionError)."),
])
def test_any_failure_of_a_parser_is_a_document_error(tmp_path, monkeypatch, failure, reason):
    def broken(html):
        raise failure("deep inside the parser")
    monkeypatch.setattr("rag.documents.parse_html", broken)
    with pytest.raises(DocumentError) as err:
        load_document(write(tmp_path / "bomb.html", "<p>x</p>"), tmp_path)
    assert str(err.value) == reason


def test_a_pdf_over_the_page_limit_is_refused_before_its_text_is_read(tmp_path, monkeypatch):
    from pypdf import PageObject

    read = []
    monkeypatch.setattr(PageObject, "extract_text", lambda page, *a, **k: read.append(1) or "text")
    with pytest.raises(DocumentError, match=r"many.pdf: 300 pages is over the 100-page limit \(RAG_MAX_DOCUMENT_PAGES\)"):
        load_document(write(tmp_path / "many.pdf", shared_stream_pdf(300, lines=1)), tmp_path, Limits(pages=100))
    assert read == []


def test_reading_stops_at_the_page_that_passes_the_character_limit(tmp_path, monkeypatch):
    from pypdf import PageObject

    extract, pages = PageObject.extract_text, []
    monkeypatch.setattr(PageObject, "extract_text", lambda page, *a, **k: pages.append(1) or extract(page, *a, **k))
    path = write(tmp_path / "long.pdf", shared_stream_pdf(500))
    assert len(path.read_bytes()) < 100_000  # 500 pages of 4,000 characters each, in under 100 KB
    with pytest.raises(DocumentError, match=r"more than 10,000 characters of text, the limit \(RAG_MAX_DOCUMENT_CHARS\)"):
        load_document(path, tmp_path, Limits(chars=10_000))
    assert len(pages) == 3  # 4,000 characters a page: the third page passes 10,000, and reading stops there


def test_a_text_over_the_character_limit_is_refused(tmp_path):
    path = write(tmp_path / "big.txt", "word " * 500_000)  # 2.5 MB: under the 10 MB file limit, over 2 M characters
    with pytest.raises(DocumentError, match=r"big.txt: holds more than 2,000,000 characters"):
        load_document(path, tmp_path)
    assert load_document(path, tmp_path, Limits(chars=3_000_000)).text.startswith("word word")


def test_links_are_listed_under_their_own_name_and_never_lead_outside(tmp_path):
    corpus, outside = tmp_path / "articles", tmp_path / "outside"
    (corpus / "sub").mkdir(parents=True)
    outside.mkdir()
    write(corpus / "sub" / "real.md", "Inside.")
    write(outside / "secret.md", "Outside the corpus.")
    (corpus / "inner-link.md").symlink_to(corpus / "sub" / "real.md")
    (corpus / "outer-link.md").symlink_to(outside / "secret.md")
    (corpus / "outer-folder").symlink_to(outside, target_is_directory=True)
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    found = find_documents([corpus])
    assert [source_name(p, corpus) for p in found] == ["inner-link.md", "sub/real.md"]
    assert all(p.is_relative_to(corpus.resolve()) for p in found)
    assert load_document(found[0], corpus).source == "inner-link.md"  # a link's document is the link, not its target

"""Readers: web pages read like a reader would, Word and e-book files, and every document's publication date."""
import io
from datetime import datetime

import pytest

from rag.documents import load_document
from rag.errors import DocumentError
from rag.readers import front_matter, parse_html, parse_html_soup

from test_documents import make_pdf, write

NEWS_PAGE = """<!doctype html><html lang="en"><head><title>Port strike ends | The Daily Wire Service</title>
<meta property="og:site_name" content="The Daily Wire Service">
<meta property="article:published_time" content="2019-07-28T09:30:00Z">
<meta name="author" content="Ana Ruiz"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div>
<article><h1>Port strike ends after nine days</h1>
<p class="byline">By Ana Ruiz</p>
<p>Dock workers at the port of Valencia returned to work on Sunday after a nine-day strike over pay ended
with an agreement that raises wages by four percent over two years, the union said.</p>
<p>The strike had held up more than two hundred container ships, and exporters of citrus fruit said they
had lost about thirty million euros while their cargo waited on the quays.</p>
<p>The port authority said the backlog of ships should be cleared within a week.</p>
<div class="share">Share on Facebook · Share on Twitter · Email this story</div>
</article>
<aside class="related"><h2>Related stories</h2><ul><li><a href="/a">Ten things to do this summer</a></li>
<li><a href="/b">Celebrity chef opens new restaurant</a></li></ul></aside>
<section class="comments"><h3>Comments</h3><p>Great article, thanks! Posted by reader123</p></section>
<footer>Copyright 2019 The Daily Wire Service. All rights reserved. Privacy policy.</footer></body></html>"""


def test_a_news_page_keeps_the_article_and_drops_the_noise():
    title, text, date = parse_html(NEWS_PAGE)
    assert "returned to work on Sunday" in text and "cleared within a week" in text
    for noise in ("cookies", "Related stories", "Celebrity chef", "Great article", "All rights reserved", "Share on"):
        assert noise not in text, noise
    assert "Port strike ends" in title
    assert date == "2019-07-28"


def test_the_soup_reader_keeps_the_noise_that_trafilatura_drops():
    """The baseline this replaces: what the measurement in docs/extraction.md compares against."""
    _, text, date = parse_html_soup(NEWS_PAGE)
    assert "returned to work on Sunday" in text and date == "2019-07-28"


def test_a_page_without_main_text_falls_back_to_the_soup_reader():
    title, text, _ = parse_html("<html><head><title>Short</title></head><body><p>Just one line.</p></body></html>")
    assert text.strip() == "Just one line." and title == "Short"


@pytest.mark.parametrize("name, content, date", [
    ("a.md", "---\ntitle: Port strike ends\ndate: 2019-07-28\n---\nDock workers returned.", "2019-07-28"),
    ("b.md", "---\ndate: July 2019\n---\nDock workers returned.", "2019-07"),
    ("c.txt", "Jul 28, 2019 ... Dock workers returned to work.", "2019-07-28"),  # an RGB snippet
    ("d.txt", "Dock workers returned to work in July 2019.", ""),  # a date inside the text is not the article's
    ("e.html", NEWS_PAGE, "2019-07-28"),
    ("f.md", "---\ndate: someday\n---\nDock workers returned.", ""),
])
def test_every_document_carries_its_publication_date(tmp_path, name, content, date):
    assert load_document(write(tmp_path / name, content), tmp_path).date == date


def test_pdf_date_comes_from_its_metadata(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf("Chips were banned in May."))))
    writer.add_metadata({"/CreationDate": "D:20190728103000+02'00'"})
    out = io.BytesIO()
    writer.write(out)
    assert load_document(write(tmp_path / "a.pdf", out.getvalue()), tmp_path).date == "2019-07-28"


def test_the_date_is_part_of_the_content_hash(tmp_path):
    """A corrected date re-indexes the document, so its chunks never keep the old one."""
    one = load_document(write(tmp_path / "a.md", "---\ndate: 2019-07-28\n---\nSame text."), tmp_path)
    two = load_document(write(tmp_path / "a.md", "---\ndate: 2019-07-29\n---\nSame text."), tmp_path)
    assert one.content_hash != two.content_hash


def make_docx(paragraphs, title="", created=None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Ships waiting", "212"
    document.core_properties.title = title
    if created:
        document.core_properties.created = created
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_epub(chapters, title="", date="") -> bytes:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("test-book")
    book.set_title(title)
    book.set_language("en")
    if date:
        book.add_metadata("DC", "date", date)
    items = []
    for i, text in enumerate(chapters):
        item = epub.EpubHtml(title=f"Chapter {i}", file_name=f"c{i}.xhtml", lang="en")
        item.content = f"<html><body><h1>Chapter {i}</h1><p>{text}</p></body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = items
    out = io.BytesIO()
    epub.write_epub(out, book)
    return out.getvalue()


def test_word_files_give_text_tables_title_and_date(tmp_path):
    data = make_docx(["Dock workers returned to work.", "The strike lasted nine days."], "Port strike ends",
                     datetime(2019, 7, 28, 9, 30))
    doc = load_document(write(tmp_path / "strike.docx", data), tmp_path)
    assert (doc.title, doc.date) == ("Port strike ends", "2019-07-28")
    assert "Dock workers returned to work." in doc.text and "Ships waiting | 212" in doc.text


def test_e_books_give_every_chapter_in_order_title_and_date(tmp_path):
    data = make_epub(["The strike began on a Friday.", "It ended nine days later."], "The port", "2019-07-28")
    doc = load_document(write(tmp_path / "port.epub", data), tmp_path)
    assert (doc.title, doc.date) == ("The port", "2019-07-28")
    assert doc.text.index("began on a Friday") < doc.text.index("nine days later")


@pytest.mark.parametrize("name, data", [
    ("broken.docx", b"PK\x03\x04 not really a zip"),
    ("broken.epub", b"PK\x03\x04 not really a zip"),
    ("text.docx", b"plain text renamed"),
])
def test_corrupt_word_and_e_book_files_give_one_sentence(tmp_path, name, data):
    with pytest.raises(DocumentError, match="cannot be read") as err:
        load_document(write(tmp_path / name, data), tmp_path)
    assert str(err.value).startswith(name) and "\n" not in str(err.value)


def test_front_matter_fields():
    assert front_matter('title: "A: B"\nDate: 2019-07-28\nnot a field') == {"title": "A: B", "date": "2019-07-28"}

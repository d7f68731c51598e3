"""A folder of messy files: each one is indexed correctly or rejected with a reason, and none
breaks the index or the rest of the ingest."""
from pathlib import Path

from rag.retrieval import Retriever

from test_documents import limit_bomb_pdf, make_pdf

GOOD = "Quokkas live on Rottnest Island near Perth. They are small marsupials."


def messy_folder(corpus: Path) -> dict[str, str]:
    """Write the messy files; return name -> expected outcome ('ok' or a reason fragment)."""
    files = {
        "empty.txt": (b"", "no readable text"),
        "binary renamed.txt": (bytes(range(256)) * 64, "binary"),
        "latin1.txt": ("Café society in Zürich – naïve art, 1998.".encode("cp1252"), "ok"),
        "huge.txt": (b"word " * (11 * 2**20 // 5), "over the 10 MB limit"),
        "locked.pdf": (make_pdf("secret", password="pw"), "encrypted"),
        "broken.pdf": (b"%PDF-1.7\n1 0 obj <<>> endobj trailer <<>>", "cannot be read"),
        "bomb.pdf": (limit_bomb_pdf(), "past the PDF reader's safety limits"),
        "scripts.html": (b"<html><head><title>Scripted</title><script>steal()</script></head><body>"
                         b"<p>Koalas sleep twenty hours a day.</p><script>more()</script></body></html>", "ok"),
        "copy one.md": (GOOD.encode(), "ok"),
        "copy two.md": (GOOD.encode(), "ok"),
        "ünïcödé 名前.txt": ("Wombats have cube-shaped droppings.".encode(), "ok"),
    }
    for name, (data, _) in files.items():
        (corpus / name).write_bytes(data)
    return {name: expected for name, (_, expected) in files.items()}


def test_every_messy_file_is_indexed_or_rejected_with_a_reason(index, corpus):
    expected = messy_folder(corpus)
    report = index.ingest()
    failed = {Path(path).name: reason for path, reason in report.failed}
    for name, outcome in expected.items():
        if outcome == "ok":
            assert name in report.added, f"{name} should be indexed: {failed.get(name)}"
        else:
            assert outcome in failed.get(name, ""), f"{name}: expected '{outcome}', got {failed.get(name)}"
    assert len(report.added) == 1 + sum(v == "ok" for v in expected.values())  # + the seed article

    retriever = Retriever(index)
    assert "Koalas" in retriever.search("How long do koalas sleep?", 1, 10, "hybrid")[0].text
    assert not any("steal()" in t for t in index.collection.get(include=["documents"])["documents"])
    hits = retriever.search("Where do quokkas live?", 4, 10, "hybrid")
    assert sum("Quokkas" in p.text for p in hits) == 1, "duplicate content under two names is shown once"
    assert "Wombats" in retriever.search("wombat droppings", 1, 10, "bm25")[0].text

    again = index.ingest()  # the bad files are reported again, nothing else changes
    assert again.chunks_written == 0 and len(again.failed) == len(failed)

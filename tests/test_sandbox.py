"""The worker process that reads files: size bombs are refused with a sentence naming the limit they
break, the calling process keeps its memory and time, and the next file is read as usual."""
import os
import time

import pytest

from rag.errors import DocumentError
from rag.sandbox import Reader
from rag.settings import Settings

from test_documents import LIMIT_SENTENCE, limit_bomb_pdf, shared_stream_pdf

GOOD = "Quokkas live on Rottnest Island near Perth. They are small marsupials."


def reader(**limits) -> Reader:
    return Reader(Settings.load(**limits))


@pytest.fixture
def files(tmp_path):
    def write(name: str, data) -> object:
        path = tmp_path / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path
    return write


def test_the_worker_reads_a_document_like_the_process_itself(files, tmp_path):
    doc = reader().read(files("quokka.md", "# Quokkas\n" + GOOD), tmp_path)
    assert (doc.title, doc.text, doc.source) == ("Quokkas", GOOD, "quokka.md")


def test_nested_tags_that_need_more_memory_than_allowed_are_refused_and_the_next_file_is_read(files, tmp_path):
    bomb = files("nested.html", "<html><body>" + "<b>" * 400_000 + "deep" + "</b>" * 400_000 + "</body></html>")
    assert bomb.stat().st_size < 3 * 2**20  # under the upload limit; parsed, it takes gigabytes
    worker = reader(parse_memory_mb=64)
    before = rss_mb()
    with pytest.raises(DocumentError, match=r"nested.html: reading it needs more .*RAG_PARSE_MEMORY_MB"):
        worker.read(bomb, tmp_path)
    assert rss_mb() - before < 64, "the tree was built in the worker, not here"
    assert worker.read(files("fine.txt", GOOD), tmp_path).text == GOOD


def test_a_file_that_takes_longer_than_the_time_limit_is_refused_within_it(files, tmp_path):
    worker = reader(parse_timeout_s=1.0)
    worker.start()  # the worker's own start-up is not the file's time
    slow = files("slow.pdf", shared_stream_pdf(2000))  # 2,000 pages of 4,000 characters: tens of seconds to read
    started = time.monotonic()
    with pytest.raises(DocumentError, match=r"slow.pdf: reading it takes longer than 1 s, the limit \(RAG_PARSE_TIMEOUT_S\)"):
        worker.read(slow, tmp_path)
    assert time.monotonic() - started < 5
    assert worker.read(files("fine.txt", GOOD), tmp_path).text == GOOD


def test_a_pdf_of_many_pages_sharing_one_stream_is_refused_by_its_page_count(files, tmp_path):
    bomb = files("pages.pdf", shared_stream_pdf(3000, lines=1))
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(DocumentError, match=r"pages.pdf: 3,000 pages is over the 2,000-page limit"):
        reader().read(bomb, tmp_path)


def test_the_worker_gives_the_parsers_own_limit_as_one_sentence(files, tmp_path):
    with pytest.raises(DocumentError) as err:
        reader().read(files("bomb.pdf", limit_bomb_pdf()), tmp_path)
    assert str(err.value) == LIMIT_SENTENCE


def test_a_worker_that_died_is_replaced(files, tmp_path):
    worker = reader()
    first = worker.start()
    first.kill()
    first.wait()
    assert worker.read(files("fine.txt", GOOD), tmp_path).text == GOOD
    assert worker.process is not first


def test_a_file_over_the_size_limit_is_not_read_at_all(files, tmp_path):
    worker = reader(max_document_mb=0.01)
    with pytest.raises(DocumentError, match=r"over the 0.01 MB limit \(RAG_MAX_DOCUMENT_MB\)"):
        worker.read(files("big.txt", "word " * 5000), tmp_path)
    assert worker.process is None


def rss_mb() -> float:
    """This process's resident memory now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

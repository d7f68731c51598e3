"""Faults with a path back: a full disk, an index deleted or corrupted, a missing corpus folder."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import DocumentError, RagError
from rag.index import Index
from rag.settings import Settings

root_only = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a tmpfs needs root")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB filesystem for the data folder, grown to 64 MB on request."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], check=True)
    yield mount_point, lambda: subprocess.run(["mount", "-o", "remount,size=64m", str(mount_point)], check=True)
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


@root_only
def test_disk_full_during_ingest_says_so_and_the_next_ingest_finishes(tiny_disk, corpus, embedder):
    mount_point, grow = tiny_disk
    for i in range(150):
        (corpus / f"d{i:03d}.txt").write_text(f"Doc {i}. " + f"Sentence about topic {i % 13} and item {i}. " * 30)
    settings = Settings.load(home=mount_point / "home")
    with pytest.raises(RagError, match="full") as err:
        Index(settings, embedder).ingest()
    assert "run the ingest again" in str(err.value)
    grow()
    # The way back is running the ingest again, as a new process does (Chroma's in-process state after a
    # failed write is not reused: a second upsert in the same process can hang).
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "RAG_HOME": str(mount_point / "home")}
    again = subprocess.run([sys.executable, "-m", "rag", "ingest"], env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    check = subprocess.run([sys.executable, "-c", "from rag.index import Index; from rag.settings import Settings; "
                            "d = Index(Settings.load()).documents(); print(len(d), all(x.complete for x in d))"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert check.stdout.split() == ["151", "True"], check.stderr[-500:]


def test_index_folder_deleted_while_running_is_rebuilt_by_the_next_ingest(index, settings):
    index.ingest()
    before = index.count()
    shutil.rmtree(settings.index_dir)
    report = index.ingest()
    assert report.added and index.count() == before
    assert (settings.index_dir / "chroma.sqlite3").exists()


def test_missing_corpus_folder_is_a_clear_error(index, settings):
    shutil.rmtree(settings.corpus)
    with pytest.raises(DocumentError, match="Not found"):
        index.ingest()


def test_corrupt_index_file_is_reported_with_the_rebuild_command(settings, embedder):
    from rag.errors import IndexCorruptError
    from rag.store import remove_index

    settings.index_dir.mkdir(parents=True)
    (settings.index_dir / "chroma.sqlite3").write_bytes(b"garbage" * 1000)
    with pytest.raises(IndexCorruptError, match="ingest --rebuild"):
        Index(settings, embedder).count()
    remove_index(settings)
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    assert Index(settings, embedder).ingest().added

"""The conversation store (real SQLite files): kept turns, owners kept apart, damaged or newer stores left alone,
a writer killed with SIGKILL mid-write, and the Markdown export. No model: the turns are what the chat stores."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.web.conversations import (SCHEMA_VERSION, Store, StoreError, export_markdown, owner_key, quote, store_at,
                                   title_of)

ROOT = Path(__file__).resolve().parent.parent
ALICE, BOB = owner_key(None, "a" * 43), owner_key(None, "b" * 43)


def turn(question: str, answer: str = "It was released to compete [1].", status: str = "answer") -> dict:
    record = {"question": question, "answer": answer, "refused": False, "refused_by": "",
              "timings": {"retrieve_ms": 30.0, "ttft_ms": 2000.0, "total_ms": 4000.0},
              "citations": [{"n": 1, "doc_id": "d1", "title": "OpenAI's open weights", "source": "openai.md",
                             "chunk_id": "c1", "text": "OpenAI released gpt-oss.\nIt competes with DeepSeek.",
                             "start": 2002, "end": 2467, "supported": True, "highlights": [[0, 24]]}]}
    return {"question": question, "answer": answer, "markdown": f"{answer} <a>[1]</a>", "status": status,
            "sources": '<article id="src-1-1">OpenAI released <mark>gpt-oss</mark></article>', "record": record}


@pytest.fixture
def store(tmp_path) -> Store:
    return store_at(tmp_path)


def test_a_saved_conversation_reads_back_whole_and_is_listed_with_its_first_question(store):
    first = store.save(ALICE, "", [turn("Why did OpenAI release gpt-oss?")])
    again = store.save(ALICE, first, [turn("Why did OpenAI release gpt-oss?"), turn("And DeepSeek?")])
    assert again == first and len(first) >= 40
    assert [(c["id"], c["title"], c["turns"]) for c in store.list(ALICE)] == [(first, "Why did OpenAI release gpt-oss?", 2)]
    back = store.turns(ALICE, first)
    assert back == [turn("Why did OpenAI release gpt-oss?"), turn("And DeepSeek?")]
    assert back[0]["record"]["citations"][0]["highlights"] == [[0, 24]]
    assert store_at(store.path.parent).turns(ALICE, first) == back  # a new Store on the file: what a restart sees


def test_a_turn_still_streaming_is_not_kept(store):
    kept = store.save(ALICE, "", [turn("Q1"), turn("Q2", "Partial", status="streaming")])
    assert [t["question"] for t in store.turns(ALICE, kept)] == ["Q1"]


def test_owners_never_see_open_rename_or_delete_each_others(store):
    mine = store.save(ALICE, "", [turn("Alice's question")])
    assert store.list(BOB) == []
    assert store.turns(BOB, mine) is None and store.title(BOB, mine) is None
    assert not store.rename(BOB, mine, "taken") and not store.delete(BOB, mine)
    theirs = store.save(BOB, mine, [turn("Bob writes to Alice's id")])  # a guessed id makes a new conversation
    assert theirs != mine
    assert store.turns(ALICE, mine)[0]["question"] == "Alice's question"
    assert [c["title"] for c in store.list(ALICE)] == ["Alice's question"]
    assert owner_key("rag", "a" * 43) not in (ALICE, owner_key("rag", "b" * 43))


def test_rename_and_delete(store):
    kept = store.save(ALICE, "", [turn("Why?")])
    other = store.save(ALICE, "", [turn("Who?")])
    assert store.rename(ALICE, kept, "  My   gpt-oss notes \n")
    assert store.title(ALICE, kept) == "My gpt-oss notes"
    assert store.delete(ALICE, kept)
    assert store.turns(ALICE, kept) is None and [c["id"] for c in store.list(ALICE)] == [other]
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM turns WHERE conversation = ?", (kept,)).fetchone()[0] == 0


def test_the_store_uses_wal_and_records_its_schema_version(store):
    store.save(ALICE, "", [turn("Q")])
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert store.secret() == store_at(store.path.parent).secret() and len(store.secret()) >= 40


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4080],
                         ids=["not-sqlite", "sqlite-header-then-garbage"])
def test_a_damaged_store_gives_one_sentence_and_is_left_as_it_is(tmp_path, content):
    path = tmp_path / "conversations.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        store_at(tmp_path)
    message = str(caught.value)
    assert "cannot be read" in message and "\n" not in message
    assert "(conversations.sqlite3 in the data folder)" in message and str(tmp_path) not in message  # shown to all
    assert path.read_bytes() == content


def test_a_store_damaged_after_start_says_so_on_use(store):
    store.save(ALICE, "", [turn("Q")])
    with open(store.path, "r+b") as file:  # the header and the first page overwritten while the app runs
        file.write(b"\x00" * 4096)
    for wal in store.path.parent.glob("conversations.sqlite3-*"):
        wal.unlink()
    with pytest.raises(StoreError, match="cannot be read"):
        store.list(ALICE)


def test_a_newer_store_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "conversations.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION + 1),))
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer version"):
        store_at(tmp_path)
    assert path.read_bytes() == before and not (tmp_path / "conversations.sqlite3-wal").exists()


WRITER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from rag.web.conversations import owner_key, store_at
from tests.test_conversations import turn
store = store_at(sys.argv[1]); owner = owner_key(None, "w" * 43)
kept = store.save(owner, "", [turn("first")])
print(kept, flush=True)
turns = [turn("first")]
for i in range(100000):
    turns.append(turn(f"question {i}", "x" * 5000))
    store.save(owner, kept, turns[-20:])
"""


def test_a_writer_killed_mid_write_leaves_a_store_that_opens_with_whole_turns(tmp_path):
    """SIGKILL while conversations are being saved as fast as possible: the file opens, every turn is whole."""
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(ROOT)], stdout=subprocess.PIPE,
                               text=True, cwd=ROOT)
    kept = process.stdout.readline().strip()
    time.sleep(1.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    store = store_at(tmp_path)
    back = store.turns(owner_key(None, "w" * 43), kept)
    assert back and len(back) <= 20
    assert all(t == turn(t["question"], "x" * 5000) for t in back if t["question"] != "first")
    numbers = [int(t["question"].split()[1]) for t in back if t["question"] != "first"]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "a save was applied in part"
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_export_quotes_each_cited_passage_with_its_article_and_offsets():
    text = export_markdown("My notes", [turn("Why did OpenAI release gpt-oss?"),
                                        turn("Who?", "Partial", status="stopped")])
    assert text.startswith("# My notes\n\n## Why did OpenAI release gpt-oss?\n\nIt was released to compete [1].")
    assert ("**[1]** OpenAI's open weights — `openai.md`, characters 2002–2467\n\n"
            "> OpenAI released gpt-oss.\n> It competes with DeepSeek.") in text
    assert "## Who?\n\n*(stopped before the answer ended)*" in text


@pytest.mark.parametrize("question, title", [("  Why did\nOpenAI act?  ", "Why did OpenAI act?"), ("", "Untitled conversation"),
                                             ("w" * 100, "w" * 79 + "…")])
def test_title_of(question, title):
    assert title_of(question) == title


def test_quote_and_owner_key_examples():
    assert quote("a\nb") == "> a\n> b"
    assert owner_key(None, "abc").startswith("browser:") and "abc" not in owner_key(None, "abc")

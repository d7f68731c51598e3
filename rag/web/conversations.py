"""Kept conversations: one SQLite file under RAG_HOME, written as each answer ends, read back into the chat.

The store belongs to the web room, not to the pipeline: the CLI and /v1 stay stateless. Each
conversation has an owner key (a login's user name and the browser's own random id, see
``owner_key``), and every query names it, so an id guessed or copied from another browser opens
nothing. A browser's id is minted and signed by the server (``mint_browser_id``): one a client
makes up, weak or not, owns nothing. A turn is saved whole in one transaction when its answer ends; an app killed mid-answer
loses at most that answer. A store that is damaged or was written by a newer version is never
written to: it raises StoreError (one sentence) and the chat goes on without saving.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ..errors import RagError
from ..text import code_span, inert

SCHEMA_VERSION = 1
FILE_NAME = "conversations.sqlite3"
TITLE_CHARS = 80
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE, position INTEGER NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, status TEXT NOT NULL, refused_by TEXT NOT NULL,
    markdown TEXT NOT NULL, sources TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (conversation, position));
"""
TURN_FIELDS = ("question", "answer", "status", "markdown", "sources")


class StoreError(RagError):
    """The conversation store cannot be read or was written by a newer version; it is left as it is. The sentence
    names the file, never its folder: it is shown to every browser (the log has the full path)."""


def new_secret() -> str:
    """An unguessable id (256 random bits), for a browser or a conversation: ``len(new_secret()) -> 43``."""
    return secrets.token_urlsafe(32)


def browser_mac(key: str, token: str) -> str:
    """The server's signature of a browser token (HMAC-SHA256 under the store's private key, 128 bits)."""
    digest = hmac.new(key.encode(), token.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def mint_browser_id(key: str, token: Optional[str] = None) -> str:
    """A browser id the server vouches for: a random token (new_secret) and its signature, ``token.mac``.

    A browser keeps it in its storage and sends it back; the client never chooses one (see vouched_token).
    """
    token = token or new_secret()
    return f"{token}.{browser_mac(key, token)}"


def vouched_token(key: str, browser_id: str) -> Optional[str]:
    """The token of a browser id this server minted, or None for any other (a client's own choice, a forged one).

    ``vouched_token(k, mint_browser_id(k, 'T' * 43)) -> 'T' * 43``; ``vouched_token(k, 'A' * 43) -> None``
    """
    token, dot, tag = (browser_id if isinstance(browser_id, str) else "").rpartition(".")
    return token if dot and len(token) >= 32 and hmac.compare_digest(tag, browser_mac(key, token)) else None


def strong(token: str) -> bool:
    """Whether an unsigned id could be one this app once made (new_secret: 43 URL-safe characters, random):
    ``strong('A' * 43) -> False``; ``strong(new_secret()) -> True`` (all but never fewer than 16 distinct)."""
    return len(token) >= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", token) is not None and len(set(token)) >= 16


def owner_key(username: Optional[str], browser_id: str) -> str:
    """Whose conversations these are: the login's user name (if any) and a hash of the browser's secret id.

    The login is one shared password, so the browser's id keeps two people's chats apart behind it too;
    the id itself is never stored. ``owner_key(None, 'abc')[:8] -> 'browser:'``;
    ``owner_key('rag', 'abc').startswith('user:rag/') -> True``.
    """
    digest = hashlib.sha256(browser_id.encode()).hexdigest()
    return f"user:{username}/{digest}" if username else f"browser:{digest}"


def title_of(question: str) -> str:
    """A conversation's title from its first question: one line, at most 80 characters.

    ``title_of('  Why did\\nOpenAI act?  ') -> 'Why did OpenAI act?'``; ``title_of('') -> 'Untitled conversation'``
    """
    line = " ".join((question or "").split())
    if len(line) > TITLE_CHARS:
        line = line[: TITLE_CHARS - 1].rstrip() + "…"
    return line or "Untitled conversation"


def answer_record(answer) -> dict:
    """What export and reopening need of a finished Answer: its JSON with each citation's highlights."""
    record = answer.to_json()
    for item, citation in zip(record["citations"], answer.citations):
        item["highlights"] = [list(span) for span in citation.highlights]
    return record


class Store:
    """The conversations of every owner in one SQLite file (WAL; a schema version in ``meta``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect(wal=False) as db:  # WAL changes the file's header: only once the file is known ours
            self.check_readable(db)
            self.check_version(db)

    @contextmanager
    def connect(self, wal: bool = True) -> Iterator[sqlite3.Connection]:
        """One connection, one transaction: committed on success, rolled back on error, always closed."""
        try:
            with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
                db.execute("PRAGMA foreign_keys = ON")
                if wal:  # WAL (kept in the file once set) with NORMAL: a crash of the app loses no commit
                    db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as exc:
            raise self.damaged(exc) from None

    def damaged(self, exc: Exception) -> StoreError:
        return StoreError(f"The conversation store ({self.path.name} in the data folder) cannot be read ({exc}); conversations are not "
                          "being saved. Move the file away (it was left as it is) and restart to begin a new one.")

    def check_readable(self, db: sqlite3.Connection) -> None:
        """Raise StoreError for a file that is not a sound SQLite database, before anything writes to it."""
        result = db.execute("PRAGMA quick_check").fetchone()
        if result and result[0] != "ok":
            raise self.damaged(Exception(result[0]))

    def check_version(self, db: sqlite3.Connection) -> None:
        """Create the tables in a new file; refuse a file of a newer schema (a later release made it)."""
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" in tables:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            found = int(row[0]) if row and str(row[0]).isdigit() else None
            if found is None or found > SCHEMA_VERSION:
                raise StoreError(f"The conversation store ({self.path.name} in the data folder) was written by a newer version of this app "
                                 f"(schema {row[0] if row else '?'}; this one reads {SCHEMA_VERSION}); it was left "
                                 "as it is and conversations are not being saved. Upgrade, or move the file away.")
            return
        if tables - {"conversations", "turns"}:
            raise StoreError(f"The conversation store ({self.path.name} in the data folder) holds tables this app did not make; it was left as "
                             "it is and conversations are not being saved. Move the file away and restart.")
        # one by one in this transaction (executescript would commit first)
        for statement in filter(str.strip, SCHEMA.split(";")):
            db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def secret(self, name: str = "browser_secret") -> str:
        """A random key kept in the store (made on first use): ``browser_secret``, what the page encrypts the
        browser's storage with (the page knows it), or ``browser_id_key``, what the server signs browser ids with
        (it never leaves the server)."""
        with self.connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
            if row:
                return row[0]
            value = new_secret()
            db.execute("INSERT INTO meta VALUES (?, ?)", (name, value))
        return value

    # -- conversations ----------------------------------------------------------------------------
    def list(self, owner: str) -> list[dict]:
        """The owner's conversations, most recently updated first: [{id, title, created, updated, turns}]."""
        with self.connect() as db:
            rows = db.execute("SELECT c.id, c.title, c.created, c.updated, COUNT(t.position) FROM conversations c "
                              "LEFT JOIN turns t ON t.conversation = c.id WHERE c.owner = ? GROUP BY c.id "
                              "ORDER BY c.updated DESC, c.rowid DESC", (owner,)).fetchall()
        return [dict(id=r[0], title=r[1], created=r[2], updated=r[3], turns=r[4]) for r in rows]

    def save(self, owner: str, conversation_id: str, turns: Sequence[dict]) -> str:
        """Store the conversation's turns (all of them, in one transaction); returns its id (new when empty).

        A turn still streaming is not saved: it is kept only once its answer has ended.
        """
        done = [t for t in turns if t.get("status") != "streaming"]
        now = time.time()
        with self.connect() as db:
            found = db.execute("SELECT owner FROM conversations WHERE id = ?", (conversation_id,)).fetchone() \
                if conversation_id else None
            if found is None or found[0] != owner:  # new, deleted meanwhile, or not this owner's: a new one
                conversation_id = new_secret()
                db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                           (conversation_id, owner, title_of(done[0]["question"] if done else ""), now, now))
            else:
                db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            db.execute("DELETE FROM turns WHERE conversation = ?", (conversation_id,))
            db.executemany("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                (conversation_id, i, t.get("question") or "", t.get("answer") or "", t["status"],
                 (t.get("record") or {}).get("refused_by", ""), t.get("markdown") or "", t.get("sources") or "",
                 json.dumps(t.get("record") or {}, ensure_ascii=False)) for i, t in enumerate(done)])
        return conversation_id

    def turns(self, owner: str, conversation_id: str) -> Optional[list[dict]]:
        """The turns of one of the owner's conversations, in order; None when it is not theirs (or gone)."""
        with self.connect() as db:
            if not self.owns(db, owner, conversation_id):
                return None
            rows = db.execute(f"SELECT {', '.join(TURN_FIELDS)}, record FROM turns WHERE conversation = ? "
                              "ORDER BY position", (conversation_id,)).fetchall()
        return [dict(zip(TURN_FIELDS, row[:-1]), record=json.loads(row[-1])) for row in rows]

    def title(self, owner: str, conversation_id: str) -> Optional[str]:
        with self.connect() as db:
            row = db.execute("SELECT title FROM conversations WHERE id = ? AND owner = ?",
                             (conversation_id, owner)).fetchone()
        return row[0] if row else None

    def rename(self, owner: str, conversation_id: str, title: str) -> bool:
        """Give one of the owner's conversations a new title (cleaned like title_of); False if not theirs."""
        with self.connect() as db:
            cursor = db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                                (title_of(title), conversation_id, owner))
        return cursor.rowcount == 1

    def delete(self, owner: str, conversation_id: str) -> bool:
        """Delete one of the owner's conversations and its turns; False if it is not theirs."""
        with self.connect() as db:
            cursor = db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner))
        return cursor.rowcount == 1

    @staticmethod
    def owns(db: sqlite3.Connection, owner: str, conversation_id: str) -> bool:
        return db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?",
                          (conversation_id or "", owner)).fetchone() is not None


def quote(text: str) -> str:
    """Markdown block quote of a passage, made inert (text.inert): ``quote('a\\nb') -> '> a\\n> b'``."""
    return "\n".join(f"> {line}".rstrip() for line in inert(text or "").splitlines() or [""])


def export_markdown(title: str, turns: Sequence[dict]) -> str:
    """A conversation as Markdown: each question, its answer, and every cited passage quoted with its place.

    All of it came from a user, an article or the model, so all of it is made inert (text.inert), the file names
    being code spans: rendered with HTML on, it shows no image, link, script or frame.
    ``export_markdown('T', [{'question': 'Q?', 'answer': 'A [1].', 'status': 'answer', 'record': {'citations':
    [{'n': 1, 'title': 'Art', 'source': 'a.md', 'start': 0, 'end': 4, 'text': 'Text', 'supported': True}]}}])``
    -> ``'# T\\n\\n## Q?\\n\\nA [1].\\n\\n**[1]** Art — `a.md`, characters 0–4\\n\\n> Text\\n'``
    """
    parts = [f"# {one_line(title)}"]
    for turn in turns:
        record = turn.get("record") or {}
        parts.append(f"## {one_line(turn.get('question', '')) or '(empty question)'}")
        if turn.get("status") == "answer":
            parts.append(inert(record.get("answer") or turn.get("answer", "")))
        elif turn.get("status") == "stopped":
            parts.append("*(stopped before the answer ended)*")
        else:
            parts.append("*(no answer: an error)*")
        if record.get("refused") and record.get("refused_by"):
            parts.append(f"*Refused ({one_line(record['refused_by'])}).*")
        for c in record.get("citations", []):
            mark = "" if c.get("supported", True) else " (not clearly supported)"
            parts.append(f"**[{c['n']}]** {one_line(c['title'])} — {code_span(str(c['source']))}, "
                         f"characters {c['start']}–{c['end']}{mark}")
            parts.append(quote(c.get("text", "")))
    return "\n\n".join(parts) + "\n"


def one_line(text) -> str:
    """Text on one line, made inert: ``one_line('A <img src=x>\\nB') -> 'A < img src=x> B'``."""
    return inert(" ".join(str(text or "").split()))


def store_at(home: Path) -> Store:
    """The store in a data folder: ``store_at(Path('.rag')).path -> Path('.rag/conversations.sqlite3')``."""
    return Store(Path(home) / FILE_NAME)


__all__ = ["Store", "StoreError", "answer_record", "export_markdown", "mint_browser_id", "new_secret", "owner_key",
           "store_at", "strong", "title_of", "vouched_token"]

"""The notes store: SQLite for the notes, a directory for their attachments.

SQLite calls block, so every public method is ``async`` and runs its work in a worker thread
(``run_in_threadpool``), never on the event loop. Connections come from a small pool: a worker
thread takes an idle connection (or opens one), uses it for one call, and gives it back.
``open()`` creates the schema and the attachments directory; ``close()`` closes the pooled
connections, after which every call raises ``RuntimeError``.
"""

from __future__ import annotations

import enum
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from microasgi.concurrency import run_in_threadpool

__all__ = ["Attachment", "Database", "Note"]

# --8<-- [start:schema]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""
# --8<-- [end:schema]

# The most idle connections kept open; more threads than this open and close their own.
_POOL_SIZE = 4


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to a note; its bytes live at ``Database.attachment_path(id)``."""

    id: int
    note_id: int
    filename: str
    content_type: str
    size: int

    def to_json(self) -> dict[str, Any]:
        """The attachment as JSON-ready data."""
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
        }


@dataclass(frozen=True, slots=True)
class Note:
    """One note, with its attachments."""

    id: int
    title: str
    body: str
    created_at: str
    updated_at: str
    attachments: tuple[Attachment, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The note as JSON-ready data."""
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "attachments": [a.to_json() for a in self.attachments],
        }


class _State(enum.Enum):
    NEW = "new"  # nothing created yet: the first call creates the schema
    OPEN = "open"
    CLOSED = "closed"  # closed for good: calls raise RuntimeError


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Database:
    """The notes and their attachments, stored under one path.

    Args:
        path: the SQLite file; attachments go to a directory beside it, named after it with
            ``.files`` appended (``notes.sqlite3.files/``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.files = self.path.with_name(self.path.name + ".files")
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._state = _State.NEW

    def __repr__(self) -> str:
        return f"Database({os.fspath(self.path)!r})"

    @property
    def is_open(self) -> bool:
        """Whether the schema is in place and ``close()`` has not been called."""
        return self._state is _State.OPEN

    # --- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the attachments directory and the schema, if not done yet.

        Calling it is optional: the first query opens the database too (which is what happens
        on a server that sends no lifespan events, such as daphne).

        Raises:
            RuntimeError: the database was closed.
        """
        await run_in_threadpool(self._ensure_open)

    def _ensure_open(self) -> None:
        with self._lock:
            if self._state is _State.CLOSED:
                raise RuntimeError(f"{self!r} is closed; build a new Database to reopen it.")
            if self._state is _State.NEW:
                self.files.mkdir(parents=True, exist_ok=True)
                with closing(self._connect()) as conn, conn:
                    # WAL: readers are not blocked while a writer commits.
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.executescript(_SCHEMA)
                self._state = _State.OPEN

    async def close(self) -> None:
        """Close the pooled connections; any call made afterwards raises ``RuntimeError``."""
        with self._lock:
            self._state = _State.CLOSED
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # --- the pool -----------------------------------------------------------------------------
    # --8<-- [start:pool]

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False: a pooled connection moves between worker threads, but only
        # one thread uses it at a time (the pool hands each connection to one caller).
        conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call, in one transaction (committed, or rolled back on error)."""
        self._ensure_open()
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            with conn:
                yield conn
        finally:
            with self._lock:
                keep = self._state is _State.OPEN and len(self._idle) < _POOL_SIZE
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    # --8<-- [end:pool]

    # --- notes --------------------------------------------------------------------------------

    # --8<-- [start:query]
    async def list_notes(self, limit: int = 50, offset: int = 0) -> list[Note]:
        """The notes, newest first, with their attachments."""
        return await run_in_threadpool(self._list_sync, limit, offset)

    def _list_sync(self, limit: int, offset: int) -> list[Note]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT id, title, body, created_at, updated_at FROM notes"
                " ORDER BY id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            return [self._with_attachments(conn, row) for row in rows]

    # --8<-- [end:query]

    async def get_note(self, note_id: int) -> Note | None:
        """The note ``note_id``, or ``None``."""
        return await run_in_threadpool(self._get_sync, note_id)

    def _get_sync(self, note_id: int) -> Note | None:
        with self._connection() as conn:
            return self._fetch(conn, note_id)

    def _fetch(self, conn: sqlite3.Connection, note_id: int) -> Note | None:
        row = conn.execute(
            "SELECT id, title, body, created_at, updated_at FROM notes WHERE id = ?", (note_id,)
        ).fetchone()
        return None if row is None else self._with_attachments(conn, row)

    def _with_attachments(self, conn: sqlite3.Connection, row: tuple[Any, ...]) -> Note:
        files = conn.execute(
            "SELECT id, note_id, filename, content_type, size FROM attachments"
            " WHERE note_id = ? ORDER BY id",
            (row[0],),
        ).fetchall()
        note_id, title, body, created_at, updated_at = row
        attachments = tuple(Attachment(*f) for f in files)
        return Note(note_id, title, body, created_at, updated_at, attachments)

    async def create_note(self, title: str, body: str) -> Note:
        """Store a new note and return it."""
        return await run_in_threadpool(self._create_sync, title, body)

    def _create_sync(self, title: str, body: str) -> Note:
        now = _now()
        with self._connection() as conn:
            (note_id,) = conn.execute(
                "INSERT INTO notes (title, body, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (title, body, now, now),
            ).fetchone()
            return Note(note_id, title, body, now, now)

    async def update_note(self, note_id: int, changes: dict[str, str]) -> Note | None:
        """Change some of a note's fields (``title``, ``body``); ``None`` if there is no such note."""
        return await run_in_threadpool(self._update_sync, note_id, changes)

    def _update_sync(self, note_id: int, changes: dict[str, str]) -> Note | None:
        with self._connection() as conn:
            note = self._fetch(conn, note_id)
            if note is None:
                return None
            title = changes.get("title", note.title)
            body = changes.get("body", note.body)
            conn.execute(
                "UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?",
                (title, body, _now(), note_id),
            )
            return self._fetch(conn, note_id)

    async def delete_note(self, note_id: int) -> bool:
        """Delete a note and its attachments; ``False`` if there was no such note."""
        return await run_in_threadpool(self._delete_sync, note_id)

    def _delete_sync(self, note_id: int) -> bool:
        with self._connection() as conn:
            ids = [
                i
                for (i,) in conn.execute("SELECT id FROM attachments WHERE note_id = ?", (note_id,))
            ]
            deleted = conn.execute("DELETE FROM notes WHERE id = ?", (note_id,)).rowcount > 0
        # The rows are gone (committed) before the files: a crash in between leaves orphan
        # files, never a row pointing to a missing file.
        for attachment_id in ids:
            self.attachment_path(attachment_id).unlink(missing_ok=True)
        return deleted

    # --- attachments --------------------------------------------------------------------------

    def attachment_path(self, attachment_id: int) -> Path:
        """Where the bytes of an attachment are stored (named by id, never by the client)."""
        return self.files / str(attachment_id)

    async def add_attachment(
        self, note_id: int, filename: str, content_type: str, source: IO[bytes]
    ) -> Attachment | None:
        """Copy ``source`` (from its start) into a new attachment of the note.

        Returns:
            The attachment, or ``None`` if there is no such note.
        """
        return await run_in_threadpool(self._attach_sync, note_id, filename, content_type, source)

    def _attach_sync(
        self, note_id: int, filename: str, content_type: str, source: IO[bytes]
    ) -> Attachment | None:
        with self._connection() as conn:
            if conn.execute("SELECT 1 FROM notes WHERE id = ?", (note_id,)).fetchone() is None:
                return None
            (attachment_id,) = conn.execute(
                "INSERT INTO attachments (note_id, filename, content_type, size)"
                " VALUES (?, ?, ?, 0) RETURNING id",
                (note_id, filename, content_type),
            ).fetchone()
            target = self.attachment_path(attachment_id)
            try:
                source.seek(0)
                with target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1024 * 1024)
                size = target.stat().st_size
            except BaseException:
                # The transaction rolls back the row; the partial file must go too.
                target.unlink(missing_ok=True)
                raise
            conn.execute("UPDATE attachments SET size = ? WHERE id = ?", (size, attachment_id))
            return Attachment(attachment_id, note_id, filename, content_type, size)

    async def get_attachment(self, note_id: int, attachment_id: int) -> Attachment | None:
        """The attachment ``attachment_id`` of note ``note_id``, or ``None``."""
        return await run_in_threadpool(self._attachment_sync, note_id, attachment_id)

    def _attachment_sync(self, note_id: int, attachment_id: int) -> Attachment | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT id, note_id, filename, content_type, size FROM attachments"
                " WHERE id = ? AND note_id = ?",
                (attachment_id, note_id),
            ).fetchone()
        return None if row is None else Attachment(*row)

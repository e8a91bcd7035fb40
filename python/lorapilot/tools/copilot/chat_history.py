"""Conversation history in SQLite (``apps/copilot/history.db``).

One row per chat message: the prompt, the answer (stdout), stderr, exit code,
the working directory (relative to the workspace), the time it started and
how long it took. Rows of one Copilot session share a ``conversation_id``.
A row is written when the run starts (status ``running``) and completed when
it ends, so a crash leaves a visible, honest trace.

Deleting follows the product's trash rule (as :mod:`lorapilot.kit.trash` does for
files): a deleted row only gets a ``deleted_at`` time and a ``deleted_batch``
id, drops out of the history and shows in the trash, and can be restored (one
row, or a whole batch such as "clear history" at once). Rows leave the
database only when the trash is emptied: everything, or what was deleted
longer ago than a given age -- there is no silent automatic purge, as with the
workspace trash.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from lorapilot.kit.db import connect, migrate
from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError

SCHEMA = [
    """
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL,
        prompt TEXT NOT NULL,
        answer TEXT NOT NULL DEFAULT '',
        stderr TEXT NOT NULL DEFAULT '',
        exit_code INTEGER,
        status TEXT NOT NULL,
        cwd TEXT NOT NULL,
        model TEXT,
        permissions TEXT NOT NULL DEFAULT '{}',
        started_at REAL NOT NULL,
        duration_s REAL
    );
    CREATE INDEX chats_conversation ON chats (conversation_id, id);
    """,
    # The trash: deleted rows keep their data until the trash is emptied.
    """
    ALTER TABLE chats ADD COLUMN deleted_at REAL;
    ALTER TABLE chats ADD COLUMN deleted_batch TEXT;
    CREATE INDEX chats_deleted ON chats (deleted_at);
    """,
]
_LIVE = "deleted_at IS NULL"
_BATCH = re.compile(r"[0-9a-f]{32}")


@dataclass
class HistoryEntry:
    id: int
    conversation_id: str
    prompt: str
    answer: str
    stderr: str
    exit_code: int | None
    status: str
    cwd: str
    model: str | None
    permissions: dict
    started_at: float
    duration_s: float | None
    deleted_at: float | None = None
    deleted_batch: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _entry(row: sqlite3.Row) -> HistoryEntry:
    data = dict(row)
    data["permissions"] = json.loads(data["permissions"] or "{}")
    return HistoryEntry(**data)


class ChatHistory:
    """The history database of one workspace; safe to share between threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._conn = connect(self.path)
        self._lock = threading.Lock()
        migrate(self._conn, SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def start(self, conversation_id: str, prompt: str, cwd: str, model: str | None, permissions: dict) -> int:
        """Record a message whose run has started; returns its id."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO chats (conversation_id, prompt, status, cwd, model, permissions, started_at)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?)",
                (conversation_id, prompt, cwd, model, json.dumps(permissions, sort_keys=True), time.time()),
            )
            return int(cur.lastrowid)

    def finish(
        self, entry_id: int, answer: str, stderr: str, exit_code: int | None, status: str, duration_s: float
    ) -> None:
        """Complete a message with what the run produced."""
        with self._lock:
            self._conn.execute(
                "UPDATE chats SET answer = ?, stderr = ?, exit_code = ?, status = ?, duration_s = ? WHERE id = ?",
                (answer, stderr, exit_code, status, duration_s, entry_id),
            )

    def mark_interrupted(self) -> int:
        """Rows left ``running`` by a sidecar that stopped mid-run become ``interrupted``."""
        with self._lock:
            return self._conn.execute("UPDATE chats SET status = 'interrupted' WHERE status = 'running'").rowcount

    def get(self, entry_id: int) -> HistoryEntry:
        row = self._conn.execute(f"SELECT * FROM chats WHERE id = ? AND {_LIVE}", (entry_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"history entry {entry_id} not found")
        return _entry(row)

    def entries(
        self, conversation_id: str | None = None, limit: int = 50, before: int | None = None
    ) -> list[HistoryEntry]:
        """Newest first; ``before`` (an id) pages back."""
        sql, args = f"SELECT * FROM chats WHERE {_LIVE}", []
        if conversation_id is not None:
            sql += " AND conversation_id = ?"
            args.append(conversation_id)
        if before is not None:
            sql += " AND id < ?"
            args.append(before)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 500)))
        return [_entry(row) for row in self._conn.execute(sql, args)]

    def conversations(self, limit: int = 50) -> list[dict]:
        """One line per conversation, most recent first: its first prompt, size and times."""
        rows = self._conn.execute(
            """
            SELECT c.conversation_id, COUNT(*) AS messages, MIN(c.started_at) AS started_at,
                   MAX(c.started_at) AS last_at, MAX(c.id) AS last_id,
                   (SELECT prompt FROM chats f WHERE f.conversation_id = c.conversation_id AND f.deleted_at IS NULL
                    ORDER BY f.id LIMIT 1) AS first_prompt
            FROM chats c WHERE c.deleted_at IS NULL GROUP BY c.conversation_id ORDER BY last_id DESC LIMIT ?
            """,
            (max(1, min(limit, 500)),),
        ).fetchall()
        return [
            {
                "conversation_id": r["conversation_id"],
                "messages": r["messages"],
                "started_at": r["started_at"],
                "last_at": r["last_at"],
                "title": next(iter((r["first_prompt"] or "").strip().splitlines()), "")[:120],
            }
            for r in rows
        ]

    # --- the trash -------------------------------------------------------------------------------

    def delete(self, entry_id: int) -> dict:
        """Move one entry to the trash; returns ``{batch, deleted}`` for an undo."""
        with self._lock:
            row = self._conn.execute(f"SELECT status FROM chats WHERE id = ? AND {_LIVE}", (entry_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"history entry {entry_id} not found")
            if row["status"] == "running":
                raise ConflictError(f"history entry {entry_id} is still running: stop the chat before deleting it")
            batch = uuid.uuid4().hex
            self._conn.execute(
                "UPDATE chats SET deleted_at = ?, deleted_batch = ? WHERE id = ?", (time.time(), batch, entry_id)
            )
            return {"batch": batch, "deleted": 1}

    def clear(self, conversation_id: str | None = None) -> dict:
        """Move every entry (or one conversation's) to the trash as one batch; a running one stays.

        Returns ``{batch, deleted, kept_running}``; restoring ``batch`` undoes the whole clear.
        """
        where, args = f"{_LIVE} AND status != 'running'", []
        if conversation_id is not None:
            where += " AND conversation_id = ?"
            args.append(conversation_id)
        with self._lock:
            batch = uuid.uuid4().hex
            deleted = self._conn.execute(
                f"UPDATE chats SET deleted_at = ?, deleted_batch = ? WHERE {where}", [time.time(), batch, *args]
            ).rowcount
            running_sql = f"SELECT COUNT(*) FROM chats WHERE {_LIVE} AND status = 'running'"
            if conversation_id is not None:
                running_sql += " AND conversation_id = ?"
            kept = self._conn.execute(running_sql, args).fetchone()[0]
        if conversation_id is not None and not deleted and not kept:
            raise NotFoundError(f"conversation {conversation_id} not found")
        return {"batch": batch if deleted else None, "deleted": deleted, "kept_running": kept}

    def trash(self, limit: int = 200) -> list[HistoryEntry]:
        """Deleted entries, most recently deleted first."""
        rows = self._conn.execute(
            "SELECT * FROM chats WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC LIMIT ?",
            (max(1, min(limit, 1000)),),
        )
        return [_entry(row) for row in rows]

    def restore(self, entry_id: int | None = None, batch: str | None = None) -> int:
        """Put one trashed entry (``entry_id``) or a whole batch back in the history; returns how many."""
        if (entry_id is None) == (batch is None):
            raise LorapilotError("restore: give exactly one of 'id' (an entry) or 'batch' (a delete or clear)")
        if batch is not None and not _BATCH.fullmatch(batch):
            raise LorapilotError(f"batch: {batch!r} is not a trash batch id (32 hex digits)")
        column, value = ("id", entry_id) if entry_id is not None else ("deleted_batch", batch)
        with self._lock:
            restored = self._conn.execute(
                f"UPDATE chats SET deleted_at = NULL, deleted_batch = NULL WHERE {column} = ? AND deleted_at IS NOT NULL",
                (value,),
            ).rowcount
        if not restored:
            what = f"history entry {entry_id}" if entry_id is not None else f"batch {batch}"
            raise NotFoundError(f"{what} is not in the Copilot history trash")
        return restored

    def purge(self, entry_id: int) -> None:
        """Delete one trashed entry for good."""
        with self._lock:
            if not self._conn.execute(
                "DELETE FROM chats WHERE id = ? AND deleted_at IS NOT NULL", (entry_id,)
            ).rowcount:
                raise NotFoundError(f"history entry {entry_id} is not in the Copilot history trash")

    def empty_trash(self, older_than_s: float | None = None) -> int:
        """Delete trashed entries for good (all, or those deleted more than ``older_than_s`` ago)."""
        if older_than_s is not None and older_than_s < 0:
            raise LorapilotError(f"older_than: {older_than_s} is negative")
        cutoff = time.time() - older_than_s if older_than_s is not None else None
        with self._lock:
            if cutoff is None:
                return self._conn.execute("DELETE FROM chats WHERE deleted_at IS NOT NULL").rowcount
            return self._conn.execute(
                "DELETE FROM chats WHERE deleted_at IS NOT NULL AND deleted_at < ?", (cutoff,)
            ).rowcount

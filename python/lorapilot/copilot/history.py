"""Conversation history in SQLite (``apps/copilot/history.db``).

One row per chat message: the prompt, the answer (stdout), stderr, exit code,
the working directory (relative to the workspace), the time it started and
how long it took. Rows of one Copilot session share a ``conversation_id``.
A row is written when the run starts (status ``running``) and completed when
it ends, so a crash leaves a visible, honest trace.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lorapilot.db import connect, migrate
from lorapilot.errors import NotFoundError

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
]


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

    def to_dict(self) -> dict:
        return asdict(self)


def _entry(row: sqlite3.Row) -> HistoryEntry:
    data = dict(row)
    data["permissions"] = json.loads(data["permissions"] or "{}")
    return HistoryEntry(**data)


class History:
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

    def finish(self, entry_id: int, answer: str, stderr: str, exit_code: int | None, status: str, duration_s: float) -> None:
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
        row = self._conn.execute("SELECT * FROM chats WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"history entry {entry_id} not found")
        return _entry(row)

    def entries(self, conversation_id: str | None = None, limit: int = 50, before: int | None = None) -> list[HistoryEntry]:
        """Newest first; ``before`` (an id) pages back."""
        sql, args = "SELECT * FROM chats WHERE 1 = 1", []
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
                   (SELECT prompt FROM chats f WHERE f.conversation_id = c.conversation_id ORDER BY f.id LIMIT 1)
                       AS first_prompt
            FROM chats c GROUP BY c.conversation_id ORDER BY last_id DESC LIMIT ?
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

"""SQLite connections with the settings every LoRA Pilot database uses."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path, *, check_same_thread: bool = False) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with a busy timeout and foreign keys on.

    WAL lets the dashboard read while a job writes; the busy timeout turns
    short lock waits into waits rather than errors.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, check_same_thread=check_same_thread, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def migrate(conn: sqlite3.Connection, steps: list[str]) -> None:
    """Apply schema ``steps`` not yet applied, tracked by ``PRAGMA user_version``.

    The version is read inside the write transaction, so processes opening the
    same new database at once apply each step exactly once.
    """
    if conn.execute("PRAGMA user_version").fetchone()[0] >= len(steps):
        return  # up to date: no write lock needed
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(steps):
                conn.execute("COMMIT")
                return
            for statement in split_statements(steps[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def split_statements(script: str) -> list[str]:
    """Split SQL into complete statements (triggers with inner ';' stay whole).

    ``executescript`` would commit the open transaction first, so migrations
    run statement by statement instead.
    """
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement: {current.strip()[:80]!r}")
    return statements

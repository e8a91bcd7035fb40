"""SQLite connections with the settings every LoRA Pilot database uses."""

from __future__ import annotations

import sqlite3
import time
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
    _use_wal(conn, path)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _use_wal(conn: sqlite3.Connection, path: Path, timeout: float = 30) -> None:
    """Switch the file to WAL (once: the mode is stored in the file).

    When several processes open a brand-new file at once, the switch can fail with "database is
    locked" at once, without waiting on the busy timeout; so it is retried here for a while.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal":
                return
            problem = "the switch to WAL did not take"
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            problem = str(exc)
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError(f"{path}: cannot switch to WAL: {problem}")
        time.sleep(0.005)


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

"""The SQLite cache of what we know about each model file.

Rows are keyed by path and valid only while the file's size and mtime are
unchanged: a changed file is inspected and hashed again. Holds the header
summary (so a listing reads no headers) and the hashes (so nothing is hashed
twice). Lives in ``cache/models.sqlite``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.db import connect, migrate

SCHEMA = [
    """
    CREATE TABLE model_files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        info TEXT,
        sha256 TEXT,
        addnet TEXT,
        updated_at REAL NOT NULL
    );
    CREATE INDEX model_files_sha256 ON model_files(sha256);
    """,
]


@dataclass(frozen=True)
class CachedFile:
    path: str
    size: int
    mtime_ns: int
    info: dict | None
    sha256: str | None
    addnet: str | None

    def matches(self, size: int, mtime_ns: int) -> bool:
        return self.size == size and self.mtime_ns == mtime_ns


class ModelCache:
    """Thread-safe access to ``models.sqlite`` (one connection, one lock)."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self._conn = connect(self.db_path)
        migrate(self._conn, SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    @staticmethod
    def _row(row) -> CachedFile:
        return CachedFile(
            path=row["path"],
            size=row["size"],
            mtime_ns=row["mtime_ns"],
            info=json.loads(row["info"]) if row["info"] else None,
            sha256=row["sha256"],
            addnet=row["addnet"],
        )

    def all(self) -> dict[str, CachedFile]:
        """Every row by path: one query for a whole listing."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM model_files").fetchall()
        return {row["path"]: self._row(row) for row in rows}

    def get(self, path: str, size: int, mtime_ns: int) -> CachedFile | None:
        """The row for ``path`` if it is still valid for this size and mtime."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM model_files WHERE path = ?", (path,)).fetchone()
        if row is None or row["size"] != size or row["mtime_ns"] != mtime_ns:
            return None
        return self._row(row)

    def _upsert(self, path: str, size: int, mtime_ns: int, **values) -> None:
        """Set ``values``; the other cached columns survive only if size and mtime are unchanged."""
        same = "model_files.size = excluded.size AND model_files.mtime_ns = excluded.mtime_ns"
        sets = [f"{c} = excluded.{c}" for c in values]
        sets += [
            f"{c} = CASE WHEN {same} THEN model_files.{c} ELSE NULL END"
            for c in ("info", "sha256", "addnet")
            if c not in values
        ]
        sets += ["size = excluded.size", "mtime_ns = excluded.mtime_ns", "updated_at = excluded.updated_at"]
        columns = ", ".join(values)
        placeholders = ", ".join("?" for _ in values)
        sql = (
            f"INSERT INTO model_files(path, size, mtime_ns, updated_at, {columns}) VALUES (?, ?, ?, ?, {placeholders}) "
            f"ON CONFLICT(path) DO UPDATE SET {', '.join(sets)}"
        )
        with self._lock:
            self._conn.execute(sql, (path, size, mtime_ns, time.time(), *values.values()))

    def put_info(self, path: str, size: int, mtime_ns: int, info: dict) -> None:
        self._upsert(path, size, mtime_ns, info=json.dumps(info, separators=(",", ":")))

    def put_hashes(self, path: str, size: int, mtime_ns: int, sha256: str, addnet: str | None) -> None:
        self._upsert(path, size, mtime_ns, sha256=sha256, addnet=addnet)

    def find_sha256(self, sha256: str) -> list[CachedFile]:
        """Rows whose file had this sha256 (the caller checks they still exist unchanged)."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM model_files WHERE sha256 = ?", (sha256.lower(),)).fetchall()
        return [self._row(r) for r in rows]

    def rename(self, old: str, new: str) -> None:
        """Carry a row over to a moved file (a rename keeps size and mtime)."""
        with self._lock:
            self._conn.execute("DELETE FROM model_files WHERE path = ?", (new,))
            self._conn.execute("UPDATE model_files SET path = ? WHERE path = ?", (new, old))

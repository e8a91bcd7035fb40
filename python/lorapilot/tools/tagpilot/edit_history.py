"""Persistent undo/redo of caption changes, in ``.tagpilot/history.db`` (SQLite).

Every write of captions (a bulk operation, a single edit, a captioner run) is
one *entry* holding each file's exact bytes before and after. The entry is
committed as ``applying`` before the first file is written and marked
``applied`` after the last one, so a crash in between is repaired on the next
open (the remaining files are rolled forward). Files are written through a
temporary file and a rename without a per-file fsync; one ``syncfs`` per entry
makes the batch durable, which is what keeps 10,000 writes under a second.

Undo restores the *before* bytes of the newest applied entry, redo re-applies
the oldest undone one; a new entry drops the redo stack. A file changed since
(by hand, or by a later entry) is never overwritten silently: undo and redo
refuse with a 409 naming the files.
"""

from __future__ import annotations

import ctypes
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit import db
from lorapilot.kit.errors import ConflictError, LorapilotError
from lorapilot.kit.fsutil import atomic_write_bytes
from lorapilot.tools.tagpilot.captions import read_raw
from lorapilot.tools.tagpilot.dataset import Dataset, caption_name

HISTORY_SCHEMA = [
    """
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        description TEXT NOT NULL,
        source TEXT NOT NULL,
        op TEXT,
        state TEXT NOT NULL CHECK (state IN ('applying', 'applied', 'undone')),
        owner_pid INTEGER NOT NULL,
        files INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE changes (
        entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        image TEXT NOT NULL,
        before BLOB,
        after BLOB,
        PRIMARY KEY (entry_id, image)
    );
    """,
]

MAX_ENTRIES = 500


@dataclass(frozen=True)
class Change:
    """One caption file's bytes before and after (None: no file)."""

    image: str
    before: bytes | None
    after: bytes | None


@dataclass(frozen=True)
class Entry:
    id: int
    created_at: float
    description: str
    source: str
    state: str
    files: int
    op: dict | None = None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "description": self.description,
            "source": self.source,
            "state": self.state,
            "files": self.files,
            "op": self.op,
        }


def _entry(row) -> Entry:
    return Entry(
        id=row["id"],
        created_at=row["created_at"],
        description=row["description"],
        source=row["source"],
        state=row["state"],
        files=row["files"],
        op=json.loads(row["op"]) if row["op"] else None,
    )


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_libc = None


def sync_filesystem(path: Path) -> None:
    """Flush the file system holding ``path`` (Linux ``syncfs``; ``sync`` elsewhere)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if _libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def write_caption_bytes(ds: Dataset, image: str, data: bytes | None) -> None:
    """Replace (or with None remove) one caption file, atomically, without fsync."""
    target = ds.path / caption_name(image)
    if data is None:
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        return
    atomic_write_bytes(target, data, fsync=False)


class EditHistory:
    """The undo/redo journal of one dataset. Open it, use it, close it (or use ``with``)."""

    def __init__(self, ds: Dataset):
        self.ds = ds
        ds.state_dir.mkdir(exist_ok=True)
        self.conn = db.connect(ds.history_db)
        db.migrate(self.conn, HISTORY_SCHEMA)
        self._recover()

    def __enter__(self) -> EditHistory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # -- reading -----------------------------------------------------------------------------

    def entries(self, limit: int = 100) -> list[Entry]:
        """Newest first."""
        rows = self.conn.execute("SELECT * FROM entries ORDER BY id DESC LIMIT ?", (limit,))
        return [_entry(row) for row in rows]

    def changes(self, entry_id: int) -> list[Change]:
        rows = self.conn.execute(
            "SELECT image, before, after FROM changes WHERE entry_id = ? ORDER BY image", (entry_id,)
        )
        return [Change(row["image"], row["before"], row["after"]) for row in rows]

    def can_undo(self) -> bool:
        return self._one("SELECT id FROM entries WHERE state = 'applied' ORDER BY id DESC LIMIT 1") is not None

    def can_redo(self) -> bool:
        return self._one("SELECT id FROM entries WHERE state = 'undone' ORDER BY id LIMIT 1") is not None

    def _one(self, sql: str, args: tuple = ()):
        return self.conn.execute(sql, args).fetchone()

    # -- writing -----------------------------------------------------------------------------

    def begin(self, description: str, source: str, op: dict | None = None, changes: list[Change] = ()) -> int:
        """Start an entry (state ``applying``); drops the redo stack. Returns its id."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute("DELETE FROM entries WHERE state = 'undone'")
            cur = self.conn.execute(
                "INSERT INTO entries (created_at, description, source, op, state, owner_pid, files) VALUES (?, ?, ?, ?, 'applying', ?, ?)",
                (
                    time.time(),
                    description,
                    source,
                    json.dumps(op) if op is not None else None,
                    os.getpid(),
                    len(changes),
                ),
            )
            entry_id = cur.lastrowid
            self.conn.executemany(
                "INSERT INTO changes (entry_id, image, before, after) VALUES (?, ?, ?, ?)",
                [(entry_id, c.image, c.before, c.after) for c in changes],
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return entry_id

    def add_change(self, entry_id: int, change: Change) -> None:
        """Record one more change of an entry still applying (captioner runs)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO changes (entry_id, image, before, after) VALUES (?, ?, ?, ?)",
            (entry_id, change.image, change.before, change.after),
        )
        self.conn.execute(
            "UPDATE entries SET files = (SELECT COUNT(*) FROM changes WHERE entry_id = ?) WHERE id = ?",
            (entry_id, entry_id),
        )

    def finish(self, entry_id: int) -> Entry:
        """Mark an entry applied (an entry without changes is dropped); prunes old entries."""
        sync_filesystem(self.ds.path)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            files = self._one("SELECT COUNT(*) AS n FROM changes WHERE entry_id = ?", (entry_id,))["n"]
            if files == 0:
                self.conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
            else:
                self.conn.execute("UPDATE entries SET state = 'applied', files = ? WHERE id = ?", (files, entry_id))
            self.conn.execute(
                "DELETE FROM entries WHERE state = 'applied' AND id <= (SELECT id FROM entries ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (MAX_ENTRIES,),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        row = self._one("SELECT * FROM entries WHERE id = ?", (entry_id,))
        if row is None:
            return Entry(
                id=entry_id, created_at=time.time(), description="(no change)", source="", state="empty", files=0
            )
        return _entry(row)

    def record(self, description: str, source: str, op: dict | None, changes: list[Change]) -> Entry:
        """Journal and write ``changes`` as one entry. The caller holds ``ds.lock()`` and has
        checked that every file still holds its ``before`` bytes."""
        entry_id = self.begin(description, source, op, changes)
        for change in changes:
            write_caption_bytes(self.ds, change.image, change.after)
        return self.finish(entry_id)

    def undo(self) -> Entry:
        """Restore the newest applied entry's files (caller holds ``ds.lock()``)."""
        row = self._one("SELECT * FROM entries WHERE state = 'applied' ORDER BY id DESC LIMIT 1")
        if row is None:
            raise LorapilotError(f"nothing to undo in dataset {self.ds.name!r}")
        self._move(row, "before", "undone")
        return _entry(self._one("SELECT * FROM entries WHERE id = ?", (row["id"],)))

    def redo(self) -> Entry:
        """Re-apply the oldest undone entry (caller holds ``ds.lock()``)."""
        row = self._one("SELECT * FROM entries WHERE state = 'undone' ORDER BY id LIMIT 1")
        if row is None:
            raise LorapilotError(f"nothing to redo in dataset {self.ds.name!r}")
        self._move(row, "after", "applied")
        return _entry(self._one("SELECT * FROM entries WHERE id = ?", (row["id"],)))

    def _move(self, row, to: str, new_state: str) -> None:
        """Bring every file of entry ``row`` to its ``to`` side ('before' or 'after')."""
        changes = self.changes(row["id"])
        source_side = "after" if to == "before" else "before"
        pending, conflicts = [], []
        for change in changes:
            current = read_raw(self.ds.path / caption_name(change.image), self.ds.boundary)
            wanted, expected = getattr(change, to), getattr(change, source_side)
            if current == wanted:
                continue
            if current != expected:
                conflicts.append(caption_name(change.image))
            else:
                pending.append((change.image, wanted))
        if conflicts:
            verb = "undo" if to == "before" else "redo"
            shown = ", ".join(conflicts[:10]) + (f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else "")
            raise ConflictError(f"cannot {verb} {row['description']!r}: changed since: {shown}")
        for image, data in pending:
            write_caption_bytes(self.ds, image, data)
        sync_filesystem(self.ds.path)
        self.conn.execute("UPDATE entries SET state = ? WHERE id = ?", (new_state, row["id"]))

    def _recover(self) -> None:
        """Roll forward entries left ``applying`` by a process that died mid-write."""
        rows = self.conn.execute("SELECT * FROM entries WHERE state = 'applying'").fetchall()
        for row in rows:
            if _pid_alive(row["owner_pid"]):
                continue
            with self.ds.lock():
                for change in self.changes(row["id"]):
                    current = read_raw(self.ds.path / caption_name(change.image), self.ds.boundary)
                    # Rewrite files still at 'before' or torn (empty); leave anything a person wrote since.
                    if current != change.after and (current == change.before or current == b""):
                        write_caption_bytes(self.ds, change.image, change.after)
                self.finish(row["id"])

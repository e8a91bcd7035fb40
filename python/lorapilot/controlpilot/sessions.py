"""Login sessions kept in SQLite (``apps/controlpilot/sessions.db``), so logging out, revoking
and changing the password end a session in every server process and across restarts.

The cookie carries a random secret; the database keeps only its SHA-256 (the primary key, so
checking a request is one indexed read) and, per row, a scrypt fingerprint of the password the
session was opened with: when the password changes, every older session stops matching.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.db import connect, migrate
from lorapilot.kit.errors import LorapilotError, NotFoundError

SESSIONS_DB = "sessions.db"
PUBLIC_ID_LENGTH = 12  # hex digits of the secret's hash shown as a session's id
_TOUCH_EVERY_S = 60  # last_seen is written at most this often per session
_MIN_PREFIX = 4

SCHEMA = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('salt', lower(hex(randomblob(16))));
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        last_seen REAL NOT NULL,
        user_agent TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        password_fp TEXT NOT NULL
    );
    CREATE INDEX sessions_expires ON sessions (expires);
    """,
]


@dataclass(frozen=True)
class SessionInfo:
    """One open session as the CLI and API show it (never the cookie)."""

    id: str
    created: float
    expires: float
    last_seen: float
    user_agent: str
    address: str
    current_password: bool | None = None  # None: the caller does not know the password

    @classmethod
    def from_row(cls, row: sqlite3.Row, password_fp: str | None) -> SessionInfo:
        return cls(
            id=row["id_hash"][:PUBLIC_ID_LENGTH],
            created=row["created"],
            expires=row["expires"],
            last_seen=row["last_seen"],
            user_agent=row["user_agent"],
            address=row["address"],
            current_password=None if password_fp is None else row["password_fp"] == password_fp,
        )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SessionStore:
    """The login sessions of one workspace, shared by every process that opens the file.

    The database is opened on first use, so building an app (as every API test does) costs
    nothing until someone logs in.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._salt: bytes | None = None
        self._fingerprints: tuple[str, str] | None = None  # (password, fingerprint): the latest only
        self._touched: dict[str, float] = {}

    # -- storage ---------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # Created 0600 before SQLite opens it: the rows say who logged in from where.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = connect(self.path)
            migrate(conn, SCHEMA)
            self._salt = bytes.fromhex(conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0])
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def fingerprint(self, password: str) -> str:
        """A slow, salted hash of ``password`` (scrypt), computed once per password per process."""
        cached = self._fingerprints
        if cached is not None and hmac.compare_digest(cached[0], password):
            return cached[1]
        with self._lock:
            self._db()
        value = hashlib.scrypt(password.encode("utf-8"), salt=self._salt, n=2**14, r=8, p=1, dklen=16).hex()
        self._fingerprints = (password, value)
        return value

    # -- the request path ------------------------------------------------------
    def open(
        self, password: str, lifetime_s: float, user_agent: str = "", address: str = ""
    ) -> tuple[str, SessionInfo]:
        """Start a session; returns the cookie secret and the session as listed."""
        secret = secrets.token_urlsafe(32)
        now = time.time()
        fp = self.fingerprint(password)
        row = (_hash(secret), now, now + lifetime_s, now, user_agent[:300], address[:100], fp)
        with self._lock:
            db = self._db()
            db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            stored = db.execute("SELECT * FROM sessions WHERE id_hash = ?", (row[0],)).fetchone()
        return secret, SessionInfo.from_row(stored, fp)

    def check(self, secret: str, password: str) -> str | None:
        """The session's public id when ``secret`` names an open, unexpired session opened with
        ``password``; else None. One read by primary key, and a write at most once a minute."""
        if not secret or len(secret) > 100:
            return None
        id_hash = _hash(secret)
        fp = self.fingerprint(password)
        now = time.time()
        with self._lock:
            row = (
                self._db().execute("SELECT expires, password_fp FROM sessions WHERE id_hash = ?", (id_hash,)).fetchone()
            )
            if row is None or row["expires"] <= now or not hmac.compare_digest(row["password_fp"], fp):
                return None
            if now - self._touched.get(id_hash, 0) >= _TOUCH_EVERY_S:
                self._touch(id_hash, now)
        return id_hash[:PUBLIC_ID_LENGTH]

    def _touch(self, id_hash: str, now: float) -> None:
        """Record last_seen; best effort: a busy database must not hold up a request."""
        self._touched[id_hash] = now
        if len(self._touched) > 10_000:
            self._touched = {k: v for k, v in self._touched.items() if now - v < _TOUCH_EVERY_S}
        db = self._db()
        db.execute("PRAGMA busy_timeout=100")
        try:
            db.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, id_hash))
        except sqlite3.OperationalError:
            pass  # locked by another writer for now; the next touch will do
        finally:
            db.execute("PRAGMA busy_timeout=30000")

    # -- ending sessions ---------------------------------------------------------
    def end(self, secret: str | None) -> bool:
        """Log out: delete the session ``secret`` names. Returns whether there was one."""
        if not secret:
            return False
        with self._lock:
            return self._db().execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(secret),)).rowcount > 0

    def drop_other_passwords(self, password: str) -> int:
        """Delete sessions opened with any password but ``password`` (it was changed)."""
        fp = self.fingerprint(password)
        with self._lock:
            return self._db().execute("DELETE FROM sessions WHERE password_fp != ?", (fp,)).rowcount

    def list(self, password: str | None = None) -> list[SessionInfo]:
        """Open sessions, newest first; expired ones are deleted on the way.

        With ``password``, each says whether it was opened with it (a session opened with an
        older password no longer works).
        """
        fp = self.fingerprint(password) if password else None
        now = time.time()
        with self._lock:
            db = self._db()
            db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            rows = db.execute("SELECT * FROM sessions ORDER BY created DESC").fetchall()
        return [SessionInfo.from_row(row, fp) for row in rows]

    def revoke(self, session_id: str) -> SessionInfo:
        """Delete the one session whose id starts with ``session_id`` (at least 4 hex digits)."""
        prefix = session_id.strip().lower()
        if len(prefix) < _MIN_PREFIX or any(c not in "0123456789abcdef" for c in prefix):
            raise LorapilotError(
                f"session id {session_id!r}: give at least {_MIN_PREFIX} of the hex digits "
                "`lorapilot controlpilot sessions list` shows"
            )
        with self._lock:
            db = self._db()
            rows = db.execute(
                "SELECT * FROM sessions WHERE substr(id_hash, 1, ?) = ? LIMIT 2", (len(prefix), prefix)
            ).fetchall()
            if not rows:
                raise NotFoundError(f"no open session {session_id!r}")
            if len(rows) > 1:
                raise LorapilotError(f"session id {session_id!r} matches more than one session; give more digits")
            db.execute("DELETE FROM sessions WHERE id_hash = ?", (rows[0]["id_hash"],))
        return SessionInfo.from_row(rows[0], None)

    def revoke_all(self, keep: str | None = None) -> int:
        """Delete every session (but the one with public id ``keep``); returns how many."""
        with self._lock:
            db = self._db()
            if keep:
                return db.execute("DELETE FROM sessions WHERE substr(id_hash, 1, ?) != ?", (len(keep), keep)).rowcount
            return db.execute("DELETE FROM sessions").rowcount

"""The SQLite index of media files: schema, row building and batched writes.

Seeds are stored as decimal TEXT (SQLite integers stop at 2**63-1; ComfyUI
seeds reach 2**64-1). Raw metadata chunks are kept in ``media_raw`` beside the
parsed fields. Full-text search runs on ``media_fts`` (FTS5, external content):
new rows reach it in one INSERT ... SELECT per written batch, updates and
deletes through triggers. Favourites, tags and trash state live on the row,
so a file that is re-read after an overwrite keeps them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.db import connect, migrate
from lorapilot.tools.mediapilot.cjk import cjk_tokens
from lorapilot.tools.mediapilot.meta import GenInfo
from lorapilot.tools.mediapilot.meta.chunks import Probe

MAX_RAW_BYTES = 4 * 1024 * 1024  # raw chunks kept per file; past this the largest are cut

SCHEMA = [
    """
    CREATE TABLE roots (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL
    );
    CREATE TABLE media (
        id INTEGER PRIMARY KEY,
        root_id INTEGER NOT NULL REFERENCES roots(id),
        rel TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        format TEXT,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        width INTEGER,
        height INTEGER,
        duration REAL,
        source TEXT,
        positive TEXT NOT NULL DEFAULT '',
        negative TEXT NOT NULL DEFAULT '',
        model TEXT,
        model_hash TEXT,
        seed TEXT,
        steps INTEGER,
        cfg REAL,
        sampler TEXT,
        scheduler TEXT,
        gen_width INTEGER,
        gen_height INTEGER,
        denoise REAL,
        has_workflow INTEGER NOT NULL DEFAULT 0,
        params TEXT,
        error TEXT,
        fav INTEGER NOT NULL DEFAULT 0,
        trash_id TEXT,
        thumb_key TEXT,
        indexed_at REAL NOT NULL
    );
    -- One live row per path; a trashed row keeps its old path so a restore puts the file back there.
    CREATE UNIQUE INDEX media_path ON media(root_id, rel) WHERE trash_id IS NULL;
    CREATE INDEX media_mtime ON media(mtime_ns, id);
    CREATE INDEX media_name ON media(name, id);
    CREATE INDEX media_size ON media(size, id);
    CREATE INDEX media_seed ON media(seed);
    CREATE INDEX media_model ON media(model);
    CREATE INDEX media_trash ON media(trash_id) WHERE trash_id IS NOT NULL;
    CREATE TABLE media_raw (
        media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (media_id, key)
    );
    CREATE TABLE media_lora (
        media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        weight REAL,
        PRIMARY KEY (media_id, name)
    ) WITHOUT ROWID;
    CREATE INDEX media_lora_name ON media_lora(name);
    CREATE TABLE media_tag (
        media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
        tag TEXT NOT NULL COLLATE NOCASE,
        PRIMARY KEY (media_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX media_tag_tag ON media_tag(tag);
    CREATE VIRTUAL TABLE media_fts USING fts5(
        positive, negative, content='media', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER media_fts_insert AFTER INSERT ON media BEGIN
        INSERT INTO media_fts(rowid, positive, negative) VALUES (new.id, new.positive, new.negative);
    END;
    CREATE TRIGGER media_fts_delete AFTER DELETE ON media BEGIN
        INSERT INTO media_fts(media_fts, rowid, positive, negative)
        VALUES ('delete', old.id, old.positive, old.negative);
    END;
    CREATE TRIGGER media_fts_update AFTER UPDATE OF positive, negative ON media BEGIN
        INSERT INTO media_fts(media_fts, rowid, positive, negative)
        VALUES ('delete', old.id, old.positive, old.negative);
        INSERT INTO media_fts(rowid, positive, negative) VALUES (new.id, new.positive, new.negative);
    END;
    """,
    # Training samples now carry their LoRA (meta.training): forget the signature of the ones indexed
    # before, so the next scan re-reads them (an update: favourites and tags stay).
    """
    UPDATE media SET inode = -1 WHERE trash_id IS NULL AND rel LIKE '%trainpilot/%/output/%sample%';
    """,
    # New rows reach the full-text index in one INSERT ... SELECT per batch (MediaIndex.write), in the
    # same transaction as the rows: cheaper than a trigger firing row by row during a first index.
    """
    DROP TRIGGER IF EXISTS media_fts_insert;
    """,
    # Favourites and tags of a root that was removed from the roots, by path: they come back when the
    # root is added again (MediaIndex.drop_root / restore_kept).
    """
    CREATE TABLE IF NOT EXISTS media_kept (
        root_id INTEGER NOT NULL,
        rel TEXT NOT NULL,
        fav INTEGER NOT NULL,
        tags TEXT NOT NULL,
        PRIMARY KEY (root_id, rel)
    );
    """,
    # CJK prompts searchable by any substring (mediapilot.cjk: bigram tokens beside the word index; only rows
    # with CJK text have a row here). The tokens are computed in Python: MediaIndex fills them for the rows
    # indexed before (the names in media_backfill). Idempotent, like the steps before it.
    """
    CREATE VIRTUAL TABLE IF NOT EXISTS media_cjk USING fts5(positive, negative, tokenize='unicode61');
    CREATE TRIGGER IF NOT EXISTS media_cjk_delete AFTER DELETE ON media BEGIN
        DELETE FROM media_cjk WHERE rowid = old.id;
    END;
    CREATE TABLE IF NOT EXISTS media_backfill (name TEXT PRIMARY KEY);
    INSERT OR IGNORE INTO media_backfill (name) VALUES ('cjk');
    -- Files whose fields this version reads differently are read again by the next scan (favourites and
    -- tags stay): ComfyUI hires graphs (the generation size is now the first pass's), graphs too deep for
    -- the recursive walk, chunks cut at the cap before the tail was kept.
    UPDATE media SET inode = -1 WHERE trash_id IS NULL AND (
        (source = 'comfyui' AND params LIKE '%"passes"%') OR error LIKE '%nested too deeply%'
        OR error LIKE '%capped at%');
    """,
]

# Columns written from a file (everything a re-read may change; user state is not among them).
FILE_COLUMNS = (
    "root_id",
    "rel",
    "name",
    "kind",
    "format",
    "size",
    "mtime_ns",
    "ctime_ns",
    "inode",
    "width",
    "height",
    "duration",
    "source",
    "positive",
    "negative",
    "model",
    "model_hash",
    "seed",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "gen_width",
    "gen_height",
    "denoise",
    "has_workflow",
    "params",
    "error",
    "indexed_at",
)
_INSERT = f"INSERT INTO media (id, {', '.join(FILE_COLUMNS)}) VALUES (?, {', '.join('?' * len(FILE_COLUMNS))})"
_UPDATE = f"UPDATE media SET {', '.join(c + ' = ?' for c in FILE_COLUMNS)}, thumb_key = NULL WHERE id = ?"


@dataclass
class FileRow:
    """One file's indexed values, ready to write."""

    values: tuple  # in FILE_COLUMNS order
    raw: list[tuple[str, str]]  # the raw metadata chunks, (key, text)
    loras: list[tuple[str, float | None]]
    cjk: tuple[str, str] | None = None  # CJK bigram tokens of (positive, negative), when either has CJK text


def _raw_chunks(texts: dict[str, str]) -> list[tuple[str, str]]:
    """The chunks as stored: all of them, the largest cut when together they pass MAX_RAW_BYTES."""
    total = sum(len(v) for v in texts.values())
    if total > MAX_RAW_BYTES:
        budget = MAX_RAW_BYTES // max(1, len(texts))
        return [(k, v if len(v) <= budget else v[:budget]) for k, v in texts.items()]
    return list(texts.items())


_dumps = json.JSONEncoder(ensure_ascii=False, check_circular=False, default=str).encode


def build_row(root_id: int, rel: str, st, probe: Probe, info: GenInfo | None, problems: list[str]) -> FileRow:
    """The row for one file from its stat, container probe and parsed metadata."""
    errors = list(probe.errors) + problems
    params = None
    fields: dict = {}
    if info is not None:
        fields = info.__dict__
        params = _dumps({"loras": [l.__dict__ for l in info.loras], "extra": info.extra, "warnings": info.warnings})
        errors += [f"metadata: {w}" for w in info.warnings if w.startswith(("cycle", "dangling", "graph"))]
    seed = fields.get("seed")
    values = (
        root_id,
        rel,
        rel.rsplit("/", 1)[-1],
        probe.kind,
        probe.format,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
        probe.width,
        probe.height,
        probe.duration,
        fields.get("source"),
        fields.get("positive") or "",
        fields.get("negative") or "",
        fields.get("model"),
        fields.get("model_hash"),
        None if seed is None else str(seed),
        fields.get("steps"),
        fields.get("cfg"),
        fields.get("sampler"),
        fields.get("scheduler"),
        fields.get("width"),
        fields.get("height"),
        fields.get("denoise"),
        int(bool(fields.get("has_workflow"))),
        params,
        "; ".join(errors)[:2000] or None,
        time.time(),
    )
    loras = [(l.name, l.weight) for l in info.loras] if info is not None else []
    cjk = None
    if info is not None and not (info.positive.isascii() and info.negative.isascii()):
        cjk = (cjk_tokens(info.positive), cjk_tokens(info.negative))
        cjk = cjk if any(cjk) else None
    return FileRow(values, _raw_chunks(probe.texts), loras, cjk)


def _live_ids(conn: sqlite3.Connection, rows: list[FileRow]) -> dict[tuple[int, str], int]:
    """(root_id, rel) -> id of the live rows already at the paths of ``rows``: one query per root."""
    rels_by_root: dict[int, list[str]] = {}
    for row in rows:
        rels_by_root.setdefault(row.values[0], []).append(row.values[1])
    live = {}
    for root_id, rels in rels_by_root.items():
        for media_id, rel in conn.execute(
            "SELECT id, rel FROM media WHERE root_id = ? AND trash_id IS NULL "
            "AND rel IN (SELECT value FROM json_each(?))",
            (root_id, json.dumps(rels)),
        ):
            live[(root_id, rel)] = media_id
    return live


class MediaIndex:
    """The index database; one writer at a time (a lock in-process, SQLite's lock across processes)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.conn = connect(self.path)
        self.conn.execute("PRAGMA cache_size=-65536")
        # Bulk scans write ~10 KB of raw chunks per file: checkpoint (and fsync) every ~32 MB, not every 4 MB.
        self.conn.execute("PRAGMA wal_autocheckpoint=8000")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        migrate(self.conn, SCHEMA)
        self._backfill()
        self.write_lock = threading.RLock()  # every use of ``conn`` holds it
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []

    def _backfill(self) -> None:
        """Fill what a migration added but SQL cannot compute (see the last SCHEMA step), once."""
        conn = self.conn
        if conn.execute("SELECT 1 FROM media_backfill LIMIT 1").fetchone() is None:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            pending = {r[0] for r in conn.execute("SELECT name FROM media_backfill")}
            if "cjk" in pending:
                rows = conn.execute("SELECT id, positive, negative FROM media").fetchall()
                conn.executemany(
                    "INSERT INTO media_cjk (rowid, positive, negative) VALUES (?, ?, ?)",
                    [
                        (i, *tokens)
                        for i, pos, neg in rows
                        if not (pos.isascii() and neg.isascii())
                        if any(tokens := (cjk_tokens(pos), cjk_tokens(neg)))
                    ],
                )
            conn.execute("DELETE FROM media_backfill")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self.write_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self.conn.close()

    def reader(self) -> sqlite3.Connection:
        """A new read-only connection (WAL: readers never block the writer)."""
        conn = connect(self.path)
        conn.execute("PRAGMA query_only=ON")
        return conn

    def read(self) -> sqlite3.Connection:
        """This thread's read connection (sqlite3 connections must not be shared between threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.reader()
            with self.write_lock:
                self._readers.append(conn)
        return conn

    def execute(self, sql: str, params=()) -> sqlite3.Cursor:
        """One write statement on the writer connection (autocommit), under the write lock."""
        with self.write_lock:
            return self.conn.execute(sql, params)

    # -- roots -------------------------------------------------------------------------------

    def root_id(self, path: Path, label: str) -> int:
        key = str(path)
        with self.write_lock:
            row = self.conn.execute("SELECT id, label FROM roots WHERE path = ?", (key,)).fetchone()
            if row:
                if row["label"] != label:
                    self.conn.execute("UPDATE roots SET label = ? WHERE id = ?", (label, row["id"]))
                return row["id"]
            return self.conn.execute("INSERT INTO roots (path, label) VALUES (?, ?)", (key, label)).lastrowid

    def roots(self) -> dict[int, tuple[Path, str]]:
        return {r["id"]: (Path(r["path"]), r["label"]) for r in self.read().execute("SELECT * FROM roots")}

    def drop_root(self, root_id: int) -> int:
        """Remove a root's live rows; their favourites and tags are kept by path for a later re-add."""
        with self.write_lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO media_kept (root_id, rel, fav, tags) "
                    "SELECT m.root_id, m.rel, m.fav, coalesce((SELECT json_group_array(tag) FROM media_tag "
                    "WHERE media_id = m.id), '[]') FROM media m WHERE m.root_id = ? AND m.trash_id IS NULL "
                    "AND (m.fav OR EXISTS (SELECT 1 FROM media_tag WHERE media_id = m.id))",
                    (root_id,),
                )
                removed = conn.execute("DELETE FROM media WHERE root_id = ? AND trash_id IS NULL", (root_id,)).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return removed

    def restore_kept(self, root_id: int) -> int:
        """Give re-indexed files of a re-added root back the favourites and tags they had; returns how many."""
        if self.read().execute("SELECT 1 FROM media_kept WHERE root_id = ? LIMIT 1", (root_id,)).fetchone() is None:
            return 0
        with self.write_lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                matched = conn.execute(
                    "SELECT m.id, k.rel, k.fav, k.tags FROM media_kept k JOIN media m ON m.root_id = k.root_id "
                    "AND m.rel = k.rel AND m.trash_id IS NULL WHERE k.root_id = ?",
                    (root_id,),
                ).fetchall()
                for media_id, rel, fav, tags in matched:
                    if fav:
                        conn.execute("UPDATE media SET fav = 1 WHERE id = ?", (media_id,))
                    conn.executemany(
                        "INSERT OR IGNORE INTO media_tag (media_id, tag) VALUES (?, ?)",
                        [(media_id, tag) for tag in json.loads(tags)],
                    )
                    conn.execute("DELETE FROM media_kept WHERE root_id = ? AND rel = ?", (root_id, rel))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return len(matched)

    # -- writes --------------------------------------------------------------------------------

    def signatures(self, root_id: int) -> dict[str, tuple[int, int, int, int, int]]:
        """rel -> (id, size, mtime_ns, ctime_ns, inode) of the files of a root not in the trash."""
        rows = self.read().execute(
            "SELECT rel, id, size, mtime_ns, ctime_ns, inode FROM media WHERE root_id = ? AND trash_id IS NULL",
            (root_id,),
        )
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def write(
        self,
        inserts: list[FileRow],
        updates: list[tuple[int, FileRow]],
        deletes: list[int],
        moves: list[tuple[int, int, str, tuple]] = (),
    ) -> None:
        """Apply one batch in one transaction. ``moves``: (id, root_id, rel, stat) for renamed files."""
        if not (inserts or updates or deletes or moves):
            return
        with self.write_lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if deletes:
                    conn.executemany("DELETE FROM media WHERE id = ?", [(i,) for i in deletes])
                for media_id, root_id, rel, st in moves:
                    conn.execute(
                        "UPDATE media SET root_id = ?, rel = ?, name = ?, mtime_ns = ?, ctime_ns = ? WHERE id = ?",
                        (root_id, rel, rel.rsplit("/", 1)[-1], st.st_mtime_ns, st.st_ctime_ns, media_id),
                    )
                # Another writer (the watcher, a CLI scan) may have indexed a path since it was listed:
                # such an insert becomes an update of the row that is there now.
                live = _live_ids(conn, inserts)
                fresh = []
                for row in inserts:
                    if (media_id := live.get(row.values[:2])) is None:
                        fresh.append(row)
                    else:
                        updates = [*updates, (media_id, row)]
                next_id = (conn.execute("SELECT max(id) FROM media").fetchone()[0] or 0) + 1
                ids = list(range(next_id, next_id + len(fresh)))
                if fresh:
                    conn.executemany(_INSERT, [(i, *row.values) for i, row in zip(ids, fresh)])
                    conn.execute(
                        "INSERT INTO media_fts (rowid, positive, negative) "
                        "SELECT id, positive, negative FROM media WHERE id >= ? AND id <= ?",
                        (ids[0], ids[-1]),
                    )
                pairs = list(zip(ids, fresh))
                for media_id, row in updates:
                    if conn.execute(_UPDATE, (*row.values, media_id)).rowcount == 0:
                        continue  # removed meanwhile by another writer: the next scan decides
                    conn.execute("DELETE FROM media_lora WHERE media_id = ?", (media_id,))
                    conn.execute("DELETE FROM media_raw WHERE media_id = ?", (media_id,))
                    conn.execute("DELETE FROM media_cjk WHERE rowid = ?", (media_id,))
                    pairs.append((media_id, row))
                conn.executemany(
                    "INSERT OR IGNORE INTO media_raw (media_id, key, text) VALUES (?, ?, ?)",
                    [(i, key, text) for i, row in pairs for key, text in row.raw],
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO media_lora (media_id, name, weight) VALUES (?, ?, ?)",
                    [(i, name, weight) for i, row in pairs for name, weight in row.loras],
                )
                cjk = [(i, *row.cjk) for i, row in pairs if row.cjk is not None]
                if cjk:
                    conn.executemany("INSERT INTO media_cjk (rowid, positive, negative) VALUES (?, ?, ?)", cjk)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- reads ----------------------------------------------------------------------------------

    def count(self) -> int:
        return self.read().execute("SELECT count(*) FROM media WHERE trash_id IS NULL").fetchone()[0]

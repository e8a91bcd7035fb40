"""Incremental scans: re-read only files whose (size, mtime_ns, ctime_ns, inode) changed.

A no-change rescan costs one ``stat`` per file and one query per root, so it
stays well under a second for tens of thousands of files, and it still sees
files overwritten in place (their mtime and ctime move even when the folder's
do not). Files renamed outside MediaPilot keep their row (favourites, tags)
when their inode, size and mtime match a vanished row. Files that vanish
mid-scan are skipped, never fatal. A folder holding a ``.nomedia`` file (Android's
convention) is left out with everything below it: TagPilot's export copies of datasets, say.
So is InvokeAI's ``images/thumbnails/`` folder (WebP copies of images indexed already).
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.tools.mediapilot.index import FileRow, MediaIndex, build_row
from lorapilot.tools.mediapilot.meta import extract
from lorapilot.tools.mediapilot.parse_pool import parse_in_workers, worker_count
from lorapilot.tools.mediapilot.probe import MEDIA_EXTENSIONS, probe_file

BATCH = 1000  # files per write transaction: fewer commits and FTS5 segments; ~4 MB of rows in memory
PARALLEL_MIN_FILES = 3 * BATCH  # fewer files parse here: starting the worker processes costs ~0.3 s
NOMEDIA = ".nomedia"  # a folder holding this file is not media
# Generators' own thumbnail caches: copies of images indexed already (InvokeAI: images/thumbnails/NAME.webp).
_THUMBNAIL_CACHE = f"{os.sep}images{os.sep}thumbnails{os.sep}"


def in_thumbnail_cache(path: str) -> bool:
    """Whether an absolute path is (in) a generator's thumbnail folder."""
    return _THUMBNAIL_CACHE in path + os.sep


@dataclass(frozen=True)
class Root:
    id: int
    path: Path
    label: str


@dataclass
class ScanReport:
    seen: int = 0
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    flagged: int = 0  # indexed with an error flag
    vanished: int = 0  # listed, then gone before they could be read
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # folders that could not be listed

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _signature(st) -> tuple[int, int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def storable_name(name: str) -> bool:
    """Whether a path can be kept as SQLite TEXT: a name whose bytes are not UTF-8 (Python holds them as
    lone surrogates) cannot, and would stop the whole scan at its write."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _skip_unnamed(path: str, report: ScanReport | None) -> None:
    if report is not None:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        report.errors.append(f"{shown}: skipped, its name is not valid UTF-8")


def walk(root: Path, report: ScanReport | None = None):
    """Yield (rel, stat) of media files under ``root``; hidden folders (``.trash``), symlinks, folders
    marked with ``.nomedia`` and generators' thumbnail folders are skipped."""
    if os.path.lexists(os.path.join(root, NOMEDIA)):
        return
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            if report is not None and folder != str(root):
                report.errors.append(f"{folder}: {exc.strerror}")
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if os.path.lexists(os.path.join(entry.path, NOMEDIA)) or in_thumbnail_cache(entry.path):
                            continue
                        if storable_name(name):
                            stack.append((entry.path, prefix + name + "/"))
                        else:
                            _skip_unnamed(entry.path, report)
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    dot = name.rfind(".")
                    if dot < 0 or name[dot:].lower() not in MEDIA_EXTENSIONS:
                        continue
                    if not storable_name(name):
                        _skip_unnamed(entry.path, report)
                        continue
                    yield prefix + name, entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue


def read_file(root: Root, rel: str, st) -> FileRow | None:
    """Probe and parse one file; None when it vanished before it could be read."""
    path = os.path.join(root.path, rel)
    try:
        probe = probe_file(path, st.st_size)
    except FileNotFoundError:
        return None
    except OSError as exc:
        from lorapilot.tools.mediapilot.meta.chunks import Probe

        probe = Probe(errors=[f"unreadable: {exc.strerror or exc}"])
    try:
        info, problems = extract(probe.texts, rel)
    except RecursionError:
        info, problems = None, ["metadata: nested too deeply"]
    return build_row(root.id, rel, st, probe, info, problems)


def scan_roots(
    index: MediaIndex,
    roots: list[Root],
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
    keep_root_ids: set[int] = frozenset(),
) -> ScanReport:
    """Bring the index in line with the files under ``roots``.

    Rows of roots in ``keep_root_ids`` (configured but unmounted) are left alone;
    rows of roots no longer configured at all leave the index.
    """
    started = time.perf_counter()
    report = ScanReport()
    known_roots = set(keep_root_ids)
    for root in roots:
        known_roots.add(root.id)
        _scan_root(index, root, report, progress, cancel)
    # Trash rows stay restorable whatever their root.
    stale = [
        r[0]
        for r in index.read().execute(
            "SELECT id FROM media WHERE trash_id IS NULL AND root_id NOT IN "
            f"({','.join('?' * len(known_roots)) or 'NULL'})",
            tuple(known_roots),
        )
    ]
    if stale:
        index.write([], [], stale)
        report.removed += len(stale)
    report.seconds = time.perf_counter() - started
    return report


def _scan_root(
    index: MediaIndex, root: Root, report: ScanReport, progress: Progress, cancel: threading.Event | None
) -> None:
    known = index.signatures(root.id)
    todo: list[tuple[str, object, int | None]] = []  # (rel, stat, id of the row to update or None)
    listed: set[str] = set()
    for rel, st in walk(root.path, report):
        listed.add(rel)
        row = known.get(rel)
        if row is not None and row[1:] == _signature(st):
            continue
        todo.append((rel, st, row[0] if row else None))
    report.seen += len(listed)
    report.unchanged += len(listed) - len(todo)
    gone = {rel: row for rel, row in known.items() if rel not in listed}

    # Renames outside MediaPilot: same inode, size and mtime as a vanished row.
    by_identity = {(row[4], row[1], row[2]): (rel, row) for rel, row in gone.items()}
    moves, remaining = [], []
    for rel, st, row_id in todo:
        match = by_identity.pop((st.st_ino, st.st_size, st.st_mtime_ns), None) if row_id is None else None
        if match is not None:
            gone.pop(match[0], None)
            moves.append((match[1][0], root.id, rel, st))
        else:
            remaining.append((rel, st, row_id))
    index.write([], [], [row[0] for row in gone.values()], moves)
    report.removed += len(gone)
    report.moved += len(moves)

    total = len(remaining)
    progress(0, total, f"{root.label}: reading {total} files")
    done = 0
    with closing(_read_batches(root, remaining)) as reading:  # a cancel stops the parse workers at once
        for batch, rows in reading:
            check_cancel(cancel)
            inserts, updates, deletes = [], [], []
            for (_rel, _st, row_id), row in zip(batch, rows):
                if row is None:  # vanished mid-scan: forget it
                    report.vanished += 1
                    if row_id is not None:
                        deletes.append(row_id)
                    continue
                if row.values[-2] is not None:  # the error column
                    report.flagged += 1
                if row_id is None:
                    inserts.append(row)
                else:
                    updates.append((row_id, row))
            # Written here, not on a writer thread: the GIL gave the two threads no real overlap and
            # cost ~15% more CPU than writing in line (measured with bench/mediapilot_bench.py).
            index.write(inserts, updates, deletes)
            report.added += len(inserts)
            report.updated += len(updates)
            report.removed += len(deletes)
            done += len(batch)
            progress(done, total, f"{root.label}: {done}/{total}")


def read_batch(root: Root, pairs: list) -> list[FileRow | None]:
    """Probe and parse each ``(rel, stat)`` of a batch: in the scan's process or in a parse worker."""
    return [read_file(root, rel, st) for rel, st in pairs]


def _read_batches(root: Root, todo: list):
    """Yield (batch, rows) in order.

    A large first index parses in worker processes, one per core, while this process walks and writes
    (see ``parse_pool``); a small one parses here, where starting the workers would cost more than it saves.
    """
    batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
    jobs = [[(rel, st) for rel, st, _ in batch] for batch in batches]
    workers = min(len(batches), worker_count()) if len(todo) >= PARALLEL_MIN_FILES else 1
    if workers < 2:
        rows = (read_batch(root, job) for job in jobs)
    else:
        rows = parse_in_workers(root, jobs, workers, read_batch)
    with closing(rows):  # closing this generator (a cancel) stops the workers at once
        yield from zip(batches, rows)


def _indexed_under(index: MediaIndex, root: Root, rel: str) -> list[str]:
    prefix = rel + "/" if rel else ""
    rows = index.read().execute(
        "SELECT rel FROM media WHERE root_id = ? AND trash_id IS NULL AND substr(rel, 1, ?) = ?",
        (root.id, len(prefix), prefix),
    )
    return [r[0] for r in rows]


def _expand(index: MediaIndex, root: Root, path: str, rel: str) -> list[str] | None:
    """Folders in an event stand for the files in them: a folder created with files already
    inside (before the watch on it existed), moved in or out as a whole, or (un)marked ``.nomedia``.

    Returns the rels to re-check, or None when ``path`` is a plain media path.
    """
    if os.path.isdir(path) and not os.path.islink(path):
        if os.path.lexists(os.path.join(path, NOMEDIA)):  # just marked: what was indexed under it leaves
            return _indexed_under(index, root, rel)
        prefix = rel + "/" if rel else ""
        return [prefix + sub for sub, _ in walk(Path(path))]
    if not os.path.lexists(path) and os.path.splitext(rel)[1].lower() not in MEDIA_EXTENSIONS:
        return _indexed_under(index, root, rel)
    return None


def _muted(root: Root, rel: str, cache: dict[str, bool]) -> bool:
    """Whether a folder from ``root`` down to ``rel``'s holds a ``.nomedia`` file."""
    folder = root.path
    for part in ["", *rel.split("/")[:-1]]:
        folder = folder / part if part else folder
        key = str(folder)
        if key not in cache:
            cache[key] = os.path.lexists(os.path.join(key, NOMEDIA))
        if cache[key]:
            return True
    return False


def reindex_paths(index: MediaIndex, roots: list[Root], paths: list[str]) -> ScanReport:
    """Re-check specific files or folders (the watcher's events): add, update or remove each as it now is."""
    report = ScanReport()
    started = time.perf_counter()
    inserts, updates, deletes = [], [], []
    todo: dict[tuple[int, str], Root] = {}
    for path in dict.fromkeys(os.path.abspath(p) for p in paths):
        root = next((r for r in roots if path.startswith(str(r.path) + os.sep)), None)
        if root is None:
            continue
        rel = os.path.relpath(path, root.path).replace(os.sep, "/")
        if os.path.basename(rel) == NOMEDIA:  # (un)marked: re-check the whole folder
            rel = os.path.dirname(rel)
            path = os.path.dirname(path)
        if any(part.startswith(".") for part in rel.split("/")) or in_thumbnail_cache(path) or not storable_name(rel):
            continue
        expanded = _expand(index, root, path, rel)
        for item in [rel] if expanded is None else expanded:
            if os.path.splitext(item)[1].lower() in MEDIA_EXTENSIONS:
                todo[(root.id, item)] = root
    muted: dict[str, bool] = {}
    for (root_id, rel), root in todo.items():
        path = os.path.join(root.path, rel)
        existing = (
            index.read()
            .execute(
                "SELECT id, size, mtime_ns, ctime_ns, inode FROM media WHERE root_id = ? AND rel = ? AND trash_id IS NULL",
                (root_id, rel),
            )
            .fetchone()
        )
        try:
            st = os.stat(path, follow_symlinks=False)
            if _muted(root, rel, muted):
                raise FileNotFoundError(path)  # under a .nomedia folder: as good as gone
        except FileNotFoundError:
            if existing:
                deletes.append(existing[0])
                report.removed += 1
            continue
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        report.seen += 1
        if existing and tuple(existing)[1:] == _signature(st):
            report.unchanged += 1
            continue
        row = read_file(root, rel, st)
        if row is None:
            if existing:
                deletes.append(existing[0])
                report.removed += 1
            continue
        if existing:
            updates.append((existing[0], row))
            report.updated += 1
        else:
            inserts.append(row)
            report.added += 1
    index.write(inserts, updates, deletes)
    report.seconds = time.perf_counter() - started
    return report

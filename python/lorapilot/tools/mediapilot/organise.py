"""Favourites, tags, batch move/copy, trash with restore and an emptying policy, zip download.

Nothing is deleted for good here except by :func:`empty_trash`, which the user
calls explicitly; the policy (``[mediapilot] trash_keep_days``) only decides which
trashed items an explicit empty removes when not told to remove all.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.safepath import relative_to_root, resolve_inside
from lorapilot.kit.trash import TrashError
from lorapilot.tools.mediapilot.library import MediaLibrary

MAX_TAG_CHARS = 64
MAX_BATCH = 10_000


@dataclass
class BatchResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # id -> why

    def to_dict(self) -> dict:
        return {"done": self.done, "failed": {str(k): v for k, v in self.failed.items()}}


def _ids(ids: Iterable[int]) -> list[int]:
    out = list(dict.fromkeys(int(i) for i in ids))
    if not out:
        raise LorapilotError("no media items selected")
    if len(out) > MAX_BATCH:
        raise LorapilotError(f"at most {MAX_BATCH} items at once, got {len(out)}")
    return out


def check_selection(lib: MediaLibrary, ids: Iterable[int]) -> list[int]:
    """The selection's ids once each; an error names the first id that is not in the index."""
    ids = _ids(ids)
    _check_exists(lib, ids)
    return ids


def _check_exists(lib: MediaLibrary, ids: list[int]) -> None:
    marks = ",".join("?" * len(ids))
    found = {r[0] for r in lib.index.read().execute(f"SELECT id FROM media WHERE id IN ({marks})", ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(
            f"no media item {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )


# -- favourites and tags -----------------------------------------------------------------------


def set_favourite(lib: MediaLibrary, ids: Iterable[int], value: bool = True) -> int:
    ids = _ids(ids)
    _check_exists(lib, ids)
    with lib.index.write_lock:
        marks = ",".join("?" * len(ids))
        return lib.index.conn.execute(f"UPDATE media SET fav = ? WHERE id IN ({marks})", [int(value), *ids]).rowcount


def clean_tag(tag: str) -> str:
    tag = " ".join(str(tag).split())
    if not tag:
        raise LorapilotError("a tag cannot be empty")
    if len(tag) > MAX_TAG_CHARS:
        raise LorapilotError(f"tag {tag[:20]!r}... is longer than {MAX_TAG_CHARS} characters")
    return tag


def tag(lib: MediaLibrary, ids: Iterable[int], add: Iterable[str] = (), remove: Iterable[str] = ()) -> int:
    """Add and remove user tags on many items at once; returns the number of items touched."""
    ids = _ids(ids)
    add, remove = [clean_tag(t) for t in add], [clean_tag(t) for t in remove]
    _check_exists(lib, ids)
    conn = lib.index.conn
    with lib.index.write_lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT OR IGNORE INTO media_tag (media_id, tag) VALUES (?, ?)", [(i, t) for i in ids for t in add]
            )
            conn.executemany(
                "DELETE FROM media_tag WHERE media_id = ? AND tag = ?", [(i, t) for i in ids for t in remove]
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(ids)


def all_tags(lib: MediaLibrary, conn=None) -> list[tuple[str, int]]:
    conn = conn or lib.index.read()
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT g.tag, count(*) FROM media_tag g JOIN media m ON m.id = g.media_id WHERE m.trash_id IS NULL "
            "GROUP BY g.tag COLLATE NOCASE ORDER BY count(*) DESC, g.tag"
        )
    ]


# -- move and copy -----------------------------------------------------------------------------


def _destination(lib: MediaLibrary, dest: str):
    """``label:folder`` or ``folder`` (in outputs/) -> (root, real folder inside it)."""
    label, sep, folder = dest.partition(":")
    root = None
    if sep:
        try:
            root = lib.root_by_label(label)
        except NotFoundError:
            root = None
    if root is None:
        root, folder = lib.roots()[0], dest
    target = resolve_inside(root.path, folder.strip("/") or ".")
    return root, target


def move(lib: MediaLibrary, ids: Iterable[int], dest: str) -> BatchResult:
    """Move files into folder ``dest`` (created if needed); never overwrites. Rows keep favourites and tags."""
    return _transfer(lib, ids, dest, copy=False)


def copy(lib: MediaLibrary, ids: Iterable[int], dest: str) -> BatchResult:
    """Copy files into folder ``dest``; the copies are indexed and get the originals' tags and favourite."""
    return _transfer(lib, ids, dest, copy=True)


def _transfer(lib: MediaLibrary, ids: Iterable[int], dest: str, copy: bool) -> BatchResult:
    ids = _ids(ids)
    root, folder = _destination(lib, dest)
    if folder.exists() and not folder.is_dir():
        raise ConflictError(f"{dest} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    for media_id in ids:
        try:
            row = lib.row(media_id)
            if row["trash_id"]:
                raise LorapilotError("it is in the trash")
            src = lib.path_of(row)
            target = folder / row["name"]
            if os.path.lexists(target):
                if target == src:
                    raise ConflictError("it is already there")
                raise ConflictError(f"{relative_to_root(root.path, target)} already exists")
            rel = relative_to_root(root.path, target)
            if copy:
                _copy_file(src, target)
                lib.reindex([str(target)])
                new = (
                    lib.index.read()
                    .execute("SELECT id FROM media WHERE root_id = ? AND rel = ? AND trash_id IS NULL", (root.id, rel))
                    .fetchone()
                )
                if new:
                    with lib.index.write_lock:
                        lib.index.execute("UPDATE media SET fav = ? WHERE id = ?", (row["fav"], new[0]))
                        lib.index.execute(
                            "INSERT OR IGNORE INTO media_tag (media_id, tag) SELECT ?, tag FROM media_tag "
                            "WHERE media_id = ?",
                            (new[0], media_id),
                        )
            else:
                _move_file(src, target)
                st = os.stat(target, follow_symlinks=False)
                with lib.index.write_lock:
                    lib.index.execute(
                        "UPDATE media SET root_id = ?, rel = ?, name = ?, mtime_ns = ?, ctime_ns = ?, inode = ? "
                        "WHERE id = ?",
                        (root.id, rel, target.name, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, media_id),
                    )
            result.done.append(media_id)
        except (LorapilotError, OSError) as exc:
            result.failed[media_id] = str(exc) if isinstance(exc, LorapilotError) else (exc.strerror or str(exc))
    return result


def _place(src: Path, target: Path) -> None:
    """Give ``src`` the name ``target`` without ever replacing an existing file.

    A hard link fails if the target exists (atomic); file systems without hard
    links fall back to a rename after a check. EXDEV goes to the caller.
    """
    try:
        os.link(src, target)
    except FileExistsError:
        raise ConflictError(f"{target.name} already exists") from None
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            raise
        if os.path.lexists(target):
            raise ConflictError(f"{target.name} already exists") from None
        os.rename(src, target)
        return
    os.unlink(src)


def _copy_file(src: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copy2(src, tmp)
        _place(Path(tmp), target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _move_file(src: Path, target: Path) -> None:
    try:
        _place(src, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # another file system: copy, then remove the original
            raise
        _copy_file(src, target)
        os.unlink(src)


# -- trash ---------------------------------------------------------------------------------------


def trash(lib: MediaLibrary, ids: Iterable[int]) -> BatchResult:
    """Move files to the trash; their rows stay (hidden) so a restore brings back tags and favourites."""
    result = BatchResult()
    for media_id in _ids(ids):
        try:
            row = lib.row(media_id)
            if row["trash_id"]:
                raise LorapilotError("it is already in the trash")
            root = lib.root(row["root_id"])
            item = lib.trash_for(root).move(root.path / row["rel"], source="media")
            with lib.index.write_lock:
                lib.index.conn.execute("UPDATE media SET trash_id = ? WHERE id = ?", (item.id, media_id))
            result.done.append(media_id)
        except (LorapilotError, OSError) as exc:
            result.failed[media_id] = str(exc)
    return result


def restore(lib: MediaLibrary, ids: Iterable[int]) -> BatchResult:
    """Put trashed files back where they were (never over a file that took their place)."""
    result = BatchResult()
    for media_id in _ids(ids):
        try:
            row = lib.row(media_id)
            if not row["trash_id"]:
                raise LorapilotError("it is not in the trash")
            root = lib.root(row["root_id"])
            path = lib.trash_for(root).restore(row["trash_id"])
            st = os.stat(path, follow_symlinks=False)
            with lib.index.write_lock:
                lib.index.conn.execute(
                    "UPDATE media SET trash_id = NULL, mtime_ns = ?, ctime_ns = ?, inode = ?, size = ? WHERE id = ?",
                    (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size, media_id),
                )
            result.done.append(media_id)
        except (LorapilotError, OSError) as exc:
            result.failed[media_id] = str(exc)
    return result


def trash_list(lib: MediaLibrary) -> list[dict]:
    """Trashed items with when they were deleted; rows whose trash item is gone are forgotten."""
    out, gone = [], []
    for row in lib.index.read().execute(
        "SELECT id, root_id, rel, name, size, kind, trash_id FROM media WHERE trash_id IS NOT NULL ORDER BY id DESC"
    ):
        try:
            item = lib.trash_for(lib.root(row["root_id"])).get(row["trash_id"])
        except (TrashError, NotFoundError):
            gone.append(row["id"])
            continue
        out.append(
            {
                "id": row["id"],
                "name": row["name"],
                "rel": row["rel"],
                "size": row["size"],
                "kind": row["kind"],
                "trash_id": row["trash_id"],
                "deleted_at": item.deleted_at,
            }
        )
    if gone:  # emptied by another tool: nothing left to restore
        lib.index.write([], [], gone)
    return sorted(out, key=lambda i: i["deleted_at"], reverse=True)


def empty_trash(lib: MediaLibrary, everything: bool = False, older_than_days: float | None = None) -> dict:
    """Delete trashed media for good: everything, or items older than ``older_than_days``
    (default: the ``trash_keep_days`` policy). Only media trashed by MediaPilot is touched."""
    keep_days = lib.settings.trash_keep_days if older_than_days is None else older_than_days
    cutoff = None if everything else time.time() - keep_days * 86400
    removed, freed = [], 0
    for item in trash_list(lib):
        if cutoff is not None and item["deleted_at"] >= cutoff:
            continue
        row = lib.row(item["id"])
        lib.trash_for(lib.root(row["root_id"])).purge(item["trash_id"])
        removed.append(item["id"])
        freed += item["size"]
    lib.index.write([], [], removed)
    return {"removed": len(removed), "bytes": freed, "kept_days": None if everything else keep_days}


# -- zip download ----------------------------------------------------------------------------------


class _Sink:
    """A write-only, non-seekable file that hands its bytes to the response as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def zip_stream(lib: MediaLibrary, ids: Iterable[int], chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    """A zip of the selected files, produced piece by piece (memory stays near ``chunk_size``).

    Images are already compressed, so entries are stored; names stay unique.
    """
    ids = _ids(ids)
    rows = [lib.row(i) for i in ids]
    sink = _Sink()
    used: set[str] = set()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for row in rows:
            if row["trash_id"]:
                continue
            try:
                path = lib.path_of(row)
            except LorapilotError:  # now a link out of its root: left out, like a vanished file
                continue
            name = row["name"]
            stem, ext = os.path.splitext(name)
            n = 2
            while name in used:
                name, n = f"{stem} ({n}){ext}", n + 1
            used.add(name)
            try:
                src = open(path, "rb")
            except OSError:
                continue  # vanished since it was selected
            with (
                src,
                archive.open(
                    zipfile.ZipInfo(name, time.localtime(row["mtime_ns"] / 1e9)[:6]), "w", force_zip64=True
                ) as dst,
            ):
                while block := src.read(chunk_size):
                    dst.write(block)
                    yield sink.drain()
            yield sink.drain()
    yield sink.drain()


# -- compare ---------------------------------------------------------------------------------------

COMPARE_FIELDS = (
    "source",
    "model",
    "seed",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "denoise",
    "gen_width",
    "gen_height",
    "width",
    "height",
)


def compare(lib: MediaLibrary, ids: Iterable[int], conn=None) -> dict:
    """2-4 items side by side: each field with its values and whether they differ, LoRAs, prompt terms."""
    ids = _ids(ids)
    if not 2 <= len(ids) <= 4:
        raise LorapilotError(f"compare takes 2 to 4 items, got {len(ids)}")
    items = [lib.detail(i, conn) for i in ids]
    fields = []
    for name in COMPARE_FIELDS:
        values = [item[name] for item in items]
        fields.append({"field": name, "values": values, "same": len({str(v) for v in values}) == 1})
    lora_sets = [{l["name"]: l.get("weight") for l in item["loras"]} for item in items]
    lora_names = sorted(set().union(*lora_sets))
    loras = [
        {"name": n, "values": [s.get(n) for s in lora_sets], "same": len({str(s.get(n)) for s in lora_sets}) == 1}
        for n in lora_names
    ]
    prompts = {}
    for which in ("positive", "negative"):
        term_lists = [[t.strip() for t in item[which].replace("\n", ",").split(",") if t.strip()] for item in items]
        common = set(term_lists[0]).intersection(*term_lists[1:])
        prompts[which] = {
            "common": [t for t in term_lists[0] if t in common],
            "only": [[t for t in terms if t not in common] for terms in term_lists],
        }
    return {
        "ids": ids,
        "items": [{"id": i["id"], "name": i["name"]} for i in items],
        "fields": fields,
        "loras": loras,
        "prompts": prompts,
    }

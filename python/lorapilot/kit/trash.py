"""A trash with restore: nothing the user deletes is lost until the trash is emptied.

Items move (rename) into ``<root>/.trash/<id>/`` beside an ``info.json`` that
records where they came from. Every tool (files, models, datasets, media)
deletes through this module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from lorapilot.kit.errors import ConflictError, LorapilotError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.safepath import relative_to_root, resolve_inside

TRASH_DIR = ".trash"
_INFO = "info.json"
# Ids are made by Trash.move ("20250101-120000-1a2b3c4d"); anything else (NUL, '/', '..', a
# name too long for the file system) is refused before it reaches a path.
_ITEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class TrashError(LorapilotError):
    pass


class RestoreConflict(TrashError, ConflictError):
    """The item's place is taken (HTTP 409): restore it under another path."""


@dataclass(frozen=True)
class TrashItem:
    id: str
    original: str  # relative to the trash's root, '/' separated
    name: str
    is_dir: bool
    size: int
    deleted_at: float
    source: str  # which tool deleted it, e.g. "files", "models", "tagpilot"

    def to_dict(self) -> dict:
        return asdict(self)


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


class Trash:
    """The trash of one root folder (the workspace, or an extra model root)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.dir = self.root / TRASH_DIR

    def _item_dir(self, item_id: str) -> Path:
        if not _ITEM_ID.fullmatch(item_id):
            raise TrashError(f"invalid trash item id {item_id!r}")
        return self.dir / item_id

    def move(self, path: Path | str, source: str = "files") -> TrashItem:
        """Move ``path`` (inside the root) into the trash; returns the new item."""
        # Resolve the parent only: a symlink is trashed itself, not its target.
        parent, name = os.path.split(os.path.normpath(os.fspath(path)))
        if name in ("", ".", ".."):
            raise TrashError(f"cannot move {path!r} to the trash")
        real = resolve_inside(self.root, parent or ".") / name
        if not os.path.lexists(real):
            raise TrashError(f"{path} does not exist")
        if real == Path(os.path.realpath(self.root)):
            raise TrashError("cannot move the whole root to the trash")
        if Path(os.path.realpath(self.dir)) in [real, *real.parents] or real.name == TRASH_DIR:
            raise TrashError(f"{path} is already in the trash")
        parent_rel = relative_to_root(self.root, real.parent)
        item_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        item_dir = self._item_dir(item_id)
        item_dir.mkdir(parents=True)
        item = TrashItem(
            id=item_id,
            original=f"{parent_rel}/{real.name}" if parent_rel else real.name,
            name=real.name,
            is_dir=real.is_dir() and not real.is_symlink(),
            size=_size(real),
            deleted_at=time.time(),
            source=source,
        )
        atomic_write_text(item_dir / _INFO, json.dumps(item.to_dict()))
        try:
            os.rename(real, item_dir / real.name)
        except OSError:
            shutil.rmtree(item_dir, ignore_errors=True)
            raise
        return item

    def list(self) -> list[TrashItem]:
        """Items in the trash, newest first."""
        items: list[TrashItem] = []
        if not self.dir.is_dir():
            return items
        for entry in self.dir.iterdir():
            try:
                items.append(TrashItem(**json.loads((entry / _INFO).read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(items, key=lambda i: i.deleted_at, reverse=True)

    def get(self, item_id: str) -> TrashItem:
        try:
            return TrashItem(**json.loads((self._item_dir(item_id) / _INFO).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise TrashError(f"no trash item {item_id!r}") from None

    def restore(self, item_id: str, to: str | None = None) -> Path:
        """Put an item back where it was (or at ``to``); never overwrites."""
        item = self.get(item_id)
        target = resolve_inside(self.root, to or item.original)
        if os.path.lexists(target):
            raise RestoreConflict(
                f"cannot restore {item.name}: {relative_to_root(self.root, target)} exists; restore it elsewhere"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        item_dir = self._item_dir(item_id)
        os.rename(item_dir / item.name, target)
        shutil.rmtree(item_dir)
        return target

    def purge(self, item_id: str) -> None:
        """Delete one item for good."""
        self.get(item_id)
        shutil.rmtree(self._item_dir(item_id))

    def empty(self, older_than_s: float | None = None) -> int:
        """Delete items for good (all, or those older than ``older_than_s``)."""
        cutoff = None if older_than_s is None else time.time() - older_than_s
        count = 0
        for item in self.list():
            if cutoff is None or item.deleted_at < cutoff:
                self.purge(item.id)
                count += 1
        return count

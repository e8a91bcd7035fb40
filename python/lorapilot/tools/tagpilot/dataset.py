"""Datasets on disk: create, list, rename, delete (to the trash), and their images and clips.

A dataset's media are its images and its video clips (mp4/webm/mov); both have a ``.txt`` caption
sidecar, and every caption, exclude and delete path treats them alike.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.errors import ConfigError, ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.imagefiles import IMAGE_EXTENSIONS, is_image_name
from lorapilot.kit.safepath import PathEscapeError, check_name, confined_entries, escapes, resolve_inside
from lorapilot.kit.trash import Trash, TrashItem
from lorapilot.kit.videofiles import CLIP_EXTENSIONS, is_clip_name
from lorapilot.stack.handoff import HANDOFF_FILE, read_handoff, write_handoff
from lorapilot.stack.workspace.layout import Workspace

CAPTION_EXTENSION = ".txt"
STATE_DIR = ".tagpilot"

# Dataset names become folder names and kohya "N_name" folders: keep them plain.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,99}$")


MEDIA_KINDS = ", ".join(suffix.lstrip(".") for suffix in IMAGE_EXTENSIONS + CLIP_EXTENSIONS)


def is_media_name(name: str) -> bool:
    """An image or a video clip: what a dataset holds besides captions."""
    return is_image_name(name) or is_clip_name(name)


def caption_name(image: str) -> str:
    """The caption sidecar's file name for ``image`` (``a.png`` → ``a.txt``)."""
    return os.path.splitext(image)[0] + CAPTION_EXTENSION


def validate_dataset_name(name: str) -> str:
    """Refuse names with a path in them, or characters trainers choke on."""
    check_name(name, "dataset name")
    if not _NAME_RE.match(name):
        raise LorapilotError(
            f"dataset name {name!r}: use letters, digits, space, '.', '_', '+' or '-' (at most 100, not starting with '.')"
        )
    return name


@dataclass(frozen=True)
class Dataset:
    """One dataset folder. Paths only; nothing here reads images."""

    name: str
    path: Path
    root: Path | None = None  # the workspace: links in the dataset that resolve outside it are never followed

    @property
    def boundary(self) -> tuple[Path, ...]:
        """What files of this dataset must resolve inside: the workspace and its ``datasets/`` (which
        an administrator may have linked to another volume); without a workspace, the dataset itself."""
        return (self.root, self.root / "datasets") if self.root is not None else (self.path,)

    @property
    def state_dir(self) -> Path:
        return self.path / STATE_DIR

    @property
    def history_db(self) -> Path:
        return self.state_dir / "history.db"

    @property
    def cache_db(self) -> Path:
        return self.state_dir / "cache.db"

    @property
    def excluded_dir(self) -> Path:
        return self.state_dir / "excluded"

    @property
    def originals_dir(self) -> Path:
        """Where crop.py keeps the originals of cropped images (hidden from trainers)."""
        return self.state_dir / "originals"

    @property
    def handoff_file(self) -> Path:
        return self.path / HANDOFF_FILE

    def image_names(self) -> list[str]:
        """The dataset's image and clip file names, sorted."""
        entries = confined_entries(self.path, self.boundary)
        return sorted(e.name for e in entries if is_media_name(e.name) and e.is_file())

    def image_path(self, image: str, must_exist: bool = True) -> Path:
        """The path of image (or clip) ``image`` (a plain file name), checked."""
        check_name(image, "image name")
        if not is_media_name(image):
            raise LorapilotError(f"{image!r} is not an image or clip name ({MEDIA_KINDS})")
        path = self.path / image
        if escapes(path, self.boundary):
            raise PathEscapeError(f"image {image!r} of dataset {self.name!r} links outside the workspace")
        if must_exist and not path.is_file():
            raise NotFoundError(f"dataset {self.name!r} has no image {image!r}")
        return path

    def caption_path(self, image: str) -> Path:
        return self.path / caption_name(image)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock over caption writes, across processes (flock) and threads.

        Re-entrant within a thread, so library functions may nest.
        """
        key = str(self.path)
        with _locks_guard:
            rlock = _locks.setdefault(key, threading.RLock())
        with rlock:
            held = _held.__dict__.setdefault("depth", {})
            if held.get(key, 0) == 0:
                self.state_dir.mkdir(exist_ok=True)
                fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(fd, fcntl.LOCK_EX)
                _held.__dict__.setdefault("fds", {})[key] = fd
            held[key] = held.get(key, 0) + 1
            try:
                yield
            finally:
                held[key] -= 1
                if held[key] == 0:
                    os.close(_held.fds.pop(key))  # closing releases the flock


_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()
_held = threading.local()


def open_dataset(ws: Workspace, name: str) -> Dataset:
    """The existing dataset ``name``; raises NotFoundError."""
    check_name(name, "dataset name")
    path = resolve_inside(ws.datasets, name)
    if not path.is_dir():
        raise NotFoundError(f"no dataset {name!r} in {ws.datasets}")
    return Dataset(name=name, path=path, root=ws.root)


def create_dataset(ws: Workspace, name: str) -> Dataset:
    """Create an empty dataset folder; refuses an existing name."""
    validate_dataset_name(name)
    ws.datasets.mkdir(parents=True, exist_ok=True)
    path = resolve_inside(ws.datasets, name)
    try:
        path.mkdir()
    except FileExistsError:
        raise ConflictError(f"dataset {name!r} already exists") from None
    return Dataset(name=name, path=path, root=ws.root)


def list_datasets(ws: Workspace) -> list[Dataset]:
    """Every dataset folder, sorted by name."""
    if not ws.datasets.is_dir():
        return []
    return [
        Dataset(name=entry.name, path=Path(entry.path), root=ws.root)
        for entry in sorted(os.scandir(ws.datasets), key=lambda e: e.name.lower())
        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
    ]


def rename_dataset(ws: Workspace, name: str, new_name: str) -> Dataset:
    """Rename a dataset folder; the new name must be free."""
    ds = open_dataset(ws, name)
    validate_dataset_name(new_name)
    target = resolve_inside(ws.datasets, new_name)
    if os.path.lexists(target):
        raise ConflictError(f"dataset {new_name!r} already exists")
    os.rename(ds.path, target)
    renamed = Dataset(name=new_name, path=target, root=ws.root)
    _retarget_handoff(renamed)
    return renamed


def _retarget_handoff(ds: Dataset) -> None:
    """Point a "train this" handoff at the renamed folder: its absolute ``image_dir`` would name the old
    one (and, once another dataset takes the old name, that one's images)."""
    try:
        handoff = read_handoff(ds.path)
    except ConfigError:
        return  # unreadable: TrainPilot reports a bad one itself
    if handoff is not None:
        write_handoff(ds.path, handoff.model_copy(update={"dataset": ds.name, "image_dir": str(ds.path.absolute())}))


def delete_dataset(ws: Workspace, name: str) -> TrashItem:
    """Move a whole dataset to the workspace trash (restorable)."""
    ds = open_dataset(ws, name)
    return Trash(ws.root).move(ds.path, source="tagpilot")


def delete_images(ws: Workspace, ds: Dataset, images: list[str]) -> list[TrashItem]:
    """Move images and their captions to the trash."""
    trash = Trash(ws.root)
    items = []
    with ds.lock():
        for image in images:
            path = ds.image_path(image)
            items.append(trash.move(path, source="tagpilot"))
            caption = ds.caption_path(image)
            if caption.exists():
                items.append(trash.move(caption, source="tagpilot"))
            kept = ds.originals_dir / image  # a cropped image's original (crop.py) goes with it
            if kept.is_file():
                items.append(trash.move(kept, source="tagpilot"))
    return items


def exclude_images(ds: Dataset, images: list[str]) -> list[str]:
    """Move images (and captions) into ``.tagpilot/excluded/``: out of training, easy to bring back."""
    ds.excluded_dir.mkdir(parents=True, exist_ok=True)
    moved = []
    with ds.lock():
        for image in images:
            path = ds.image_path(image)
            if (ds.excluded_dir / image).exists():
                raise ConflictError(f"{image!r} is already in the excluded folder")
            os.rename(path, ds.excluded_dir / image)
            caption = ds.caption_path(image)
            if caption.exists():
                os.rename(caption, ds.excluded_dir / caption.name)
            moved.append(image)
    return moved


def excluded_images(ds: Dataset) -> list[str]:
    if not ds.excluded_dir.is_dir():
        return []
    return sorted(p.name for p in ds.excluded_dir.iterdir() if is_media_name(p.name))


def include_images(ds: Dataset, images: list[str]) -> list[str]:
    """Bring excluded images (and captions) back into the dataset."""
    restored = []
    with ds.lock():
        for image in images:
            check_name(image, "image name")
            source = ds.excluded_dir / image
            if not source.is_file():
                raise NotFoundError(f"{image!r} is not excluded in dataset {ds.name!r}")
            if os.path.lexists(ds.path / image):
                raise ConflictError(f"cannot include {image!r}: the dataset already has a file of that name")
            os.rename(source, ds.path / image)
            caption = ds.excluded_dir / Path(ds.caption_path(image)).name
            if caption.exists() and not ds.caption_path(image).exists():
                os.rename(caption, ds.caption_path(image))
            restored.append(image)
    return restored

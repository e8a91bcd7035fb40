"""Non-destructive crops: the dataset holds the cropped image, ``.tagpilot/originals/`` the original.

Trainers and export read ``datasets/<name>/<image>`` directly (export hard-links it, the handoff points
TrainPilot at the folder), so the crop must be the file there. The original is kept byte for byte in the
hidden store (trainers skip hidden folders) and every crop is cut from it, never from an earlier crop;
reset puts it back. What was done is recorded in ``.tagpilot/crops.db``: the box, the aspect preset, the
focus point, and the sha256 of the original and of the crop written, so an image replaced from outside
(re-imported, edited in another program) is noticed rather than silently undone.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lorapilot.kit import db
from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.fsutil import atomic_copy, atomic_write_bytes
from lorapilot.kit.progress import check_cancel, no_progress
from lorapilot.kit.trash import Trash
from lorapilot.kit.videofiles import is_clip_name
from lorapilot.tools.tagpilot.cropgeom import (
    CENTRE,
    FREE,
    Box,
    check_aspect,
    check_box,
    check_box_aspect,
    check_focus,
    largest_box,
)
from lorapilot.tools.tagpilot.dataset import Dataset
from lorapilot.tools.tagpilot.imageio import decode_error

CROPS_DB = "crops.db"

_SCHEMA = [
    """
    CREATE TABLE crops (
        image TEXT PRIMARY KEY,
        aspect TEXT NOT NULL,
        focus_x REAL NOT NULL,
        focus_y REAL NOT NULL,
        x INTEGER NOT NULL,
        y INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        original_width INTEGER NOT NULL,
        original_height INTEGER NOT NULL,
        original_sha256 TEXT NOT NULL,
        output_sha256 TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
]

# Pillow's save options per format: near-lossless for lossy formats (a crop should not visibly degrade).
_SAVE_OPTIONS = {"JPEG": {"quality": 95, "subsampling": 0}, "WEBP": {"quality": 95, "method": 4}, "PNG": {}}


@dataclass
class CropState:
    """An image's crop as recorded (``box`` is None when the image is not cropped)."""

    image: str
    cropped: bool
    original_width: int
    original_height: int
    aspect: str = FREE
    focus: tuple[float, float] = CENTRE
    box: tuple[int, int, int, int] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CropReport:
    """What a bulk crop did: the images cropped, and why the others were not."""

    aspect: str
    cropped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def originals_dir(ds: Dataset) -> Path:
    return ds.originals_dir


def _original_path(ds: Dataset, image: str) -> Path:
    return originals_dir(ds) / image


_schema_lock = threading.Lock()


def _open_db(ds: Dataset):
    ds.state_dir.mkdir(exist_ok=True)
    conn = db.connect(ds.state_dir / CROPS_DB)
    with _schema_lock:
        db.migrate(conn, _SCHEMA)
    return conn


def _row(ds: Dataset, image: str):
    conn = _open_db(ds)
    try:
        return conn.execute("SELECT * FROM crops WHERE image = ?", (image,)).fetchone()
    finally:
        conn.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _image_size(path: Path, image: str) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.size
    except Exception as exc:  # noqa: BLE001 - any decoder failure is "cannot crop this file"
        raise LorapilotError(f"cannot read image {image!r}: {decode_error(exc, path)}") from None


def _recorded(ds: Dataset, image: str):
    """The crop row of ``image`` if it still describes the file in the dataset, else None.

    A file that is neither the crop written nor the original was replaced from outside: the stored
    original belongs to an image that no longer exists, so it no longer counts.
    """
    row = _row(ds, image)
    if row is None or not _original_path(ds, image).is_file():
        return None
    current = _sha256(ds.image_path(image))
    return row if current in (row["output_sha256"], row["original_sha256"]) else None


def crop_state(ds: Dataset, image: str) -> CropState:
    """How ``image`` is cropped now (``cropped=False`` when it is its own original)."""
    row = _recorded(ds, image)
    if row is not None and _sha256(ds.image_path(image)) != row["output_sha256"]:
        row = None  # the original is in place: a crop whose write failed, never seen by anyone
    if row is None:
        width, height = _image_size(ds.image_path(image), image)
        return CropState(image=image, cropped=False, original_width=width, original_height=height)
    return CropState(
        image=image,
        cropped=True,
        original_width=row["original_width"],
        original_height=row["original_height"],
        aspect=row["aspect"],
        focus=(row["focus_x"], row["focus_y"]),
        box=(row["x"], row["y"], row["width"], row["height"]),
    )


def original_file(ds: Dataset, image: str) -> Path:
    """The file the crop editor shows: the kept original of a cropped image, else the image itself."""
    return _original_path(ds, image) if _recorded(ds, image) is not None else ds.image_path(image)


def crop_image(
    ds: Dataset,
    image: str,
    aspect: str = FREE,
    focus: tuple[float, float] | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> CropState:
    """Crop ``image`` from its original: to ``box``, or to the largest ``aspect`` box around ``focus``.

    Without ``focus`` the last crop's focus point is kept (else the centre). The first crop moves the
    original into the hidden store; the cropped file replaces the dataset's file atomically.
    """
    if is_clip_name(image):
        raise LorapilotError(f"{image}: a video clip is not cropped here; extract its frames to a still dataset first")
    check_aspect(aspect)
    if focus is not None:
        focus = check_focus(focus)
    if box is None and aspect == FREE:
        raise LorapilotError("aspect 'free' needs a box (x,y,width,height); or pick an aspect preset")
    path = ds.image_path(image)
    with ds.lock():
        row = _recorded(ds, image)
        original = _original_path(ds, image)
        source = original if row is not None else path
        width, height = _image_size(source, image)
        if box is not None:
            chosen = check_box(box, width, height)
            check_box_aspect(chosen, aspect)
            if focus is None:
                focus = ((chosen.x + chosen.width / 2) / width, (chosen.y + chosen.height / 2) / height)
        else:
            if focus is None:
                focus = (row["focus_x"], row["focus_y"]) if row is not None else CENTRE
            chosen = largest_box(width, height, aspect, focus)
        data = _encode_crop(source, image, chosen)
        if row is None:
            _keep_original(ds, image, path)
            original_sha = _sha256(original)
        else:
            original_sha = row["original_sha256"]
        # Record before writing: a crash in between leaves the original in place, which the row still
        # recognises (by original_sha256), so nothing is mistaken for a replaced image.
        _save_row(ds, image, aspect, focus, chosen, (width, height), original_sha, hashlib.sha256(data).hexdigest())
        atomic_write_bytes(path, data)
    return crop_state(ds, image)


def reset_crop(ds: Dataset, image: str) -> CropState:
    """Put the original back (byte for byte) and forget the crop."""
    path = ds.image_path(image)
    with ds.lock():
        row = _row(ds, image)
        original = _original_path(ds, image)
        if row is None or not original.is_file():
            raise NotFoundError(f"image {image!r} of dataset {ds.name!r} is not cropped")
        if _recorded(ds, image) is None:
            raise ConflictError(
                f"image {image!r} was replaced since it was cropped; resetting would overwrite the new file "
                "(crop it again to make the new file the original)"
            )
        atomic_copy(original, path)
        conn = _open_db(ds)
        try:
            conn.execute("DELETE FROM crops WHERE image = ?", (image,))
        finally:
            conn.close()
        original.unlink()  # its bytes are the dataset's file again
    return crop_state(ds, image)


def crop_images(
    ds: Dataset,
    images: list[str],
    aspect: str,
    progress=no_progress,
    cancel: threading.Event | None = None,
) -> CropReport:
    """Crop each image to ``aspect`` around its own focus point (its last crop's, else the centre).

    One image failing (undecodable, gone) does not stop the others; a cancel stops between images and
    keeps what was cropped.
    """
    check_aspect(aspect)
    if aspect == FREE:
        raise LorapilotError("a bulk crop needs an aspect preset, not 'free'")
    for image in images:
        ds.image_path(image)  # an unknown name fails before anything is written
    report = CropReport(aspect=aspect)
    progress(0, len(images), f"crop to {aspect}")
    for done, image in enumerate(images, start=1):
        check_cancel(cancel)
        try:
            crop_image(ds, image, aspect)
            report.cropped.append(image)
        except LorapilotError as exc:
            report.failed[image] = str(exc)
        progress(done, len(images), image)
    return report


def _encode_crop(source: Path, image: str, box: Box) -> bytes:
    """The bytes of ``source`` cut to ``box``, in the original's format (mode, ICC profile and EXIF kept)."""
    from PIL import Image

    try:
        with Image.open(source) as img:
            img.load()
            fmt = img.format or "PNG"
            info = {k: img.info[k] for k in ("icc_profile", "exif", "dpi") if k in img.info}
            cut = img.crop(box.pil_box())
    except Exception as exc:  # noqa: BLE001
        raise LorapilotError(f"cannot read image {image!r}: {decode_error(exc, source)}") from None
    if fmt == "JPEG" and cut.mode not in ("RGB", "L", "CMYK"):
        cut = cut.convert("RGB")
    buffer = io.BytesIO()
    cut.save(buffer, format=fmt, **_SAVE_OPTIONS.get(fmt, {}), **info)
    return buffer.getvalue()


def _keep_original(ds: Dataset, image: str, path: Path) -> None:
    """Put the dataset's file into the store as the original (a hard link: same bytes, no copy)."""
    store = originals_dir(ds)
    store.mkdir(parents=True, exist_ok=True)
    target = _original_path(ds, image)
    if target.exists() and os.path.samefile(target, path):
        return  # already kept (a crop that stopped before recording itself)
    if target.exists() and ds.root is not None:
        Trash(ds.root).move(target, source="tagpilot")  # the original of an image replaced since
    tmp = store / f".{image}.{os.getpid()}.keep"
    try:
        os.link(path, tmp)
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        atomic_copy(path, target)


def _save_row(
    ds: Dataset,
    image: str,
    aspect: str,
    focus: tuple[float, float],
    box: Box,
    size: tuple[int, int],
    original_sha: str,
    output_sha: str,
) -> None:
    conn = _open_db(ds)
    try:
        conn.execute(
            "INSERT OR REPLACE INTO crops VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (image, aspect, *focus, *box.as_tuple(), *size, original_sha, output_sha, time.time()),
        )
    finally:
        conn.close()

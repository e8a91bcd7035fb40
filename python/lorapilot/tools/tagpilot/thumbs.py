"""Thumbnails for the dataset grid (a clip's is its frame at one second, as MediaPilot's), cached in ``cache/thumbs/tagpilot/`` by path, size and mtime."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.fsutil import atomic_write_bytes
from lorapilot.kit.videofiles import ClipError, is_clip_name, poster_frame_png
from lorapilot.tools.tagpilot.imageio import open_rgb

THUMB_SIZES = (128, 256, 512)


def thumbnail(cache_root: Path, image: Path, size: int = 256) -> Path:
    """A JPEG no larger than ``size`` px on its long side; made once, then served from the cache."""
    from PIL import Image

    if size not in THUMB_SIZES:
        raise LorapilotError(f"thumbnail size must be one of {THUMB_SIZES}, got {size}")
    stat = image.stat()
    key = hashlib.sha1(f"{image}|{stat.st_size}|{stat.st_mtime_ns}|{size}".encode()).hexdigest()
    target = cache_root / "thumbs" / "tagpilot" / key[:2] / f"{key}.jpg"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if is_clip_name(image.name):
            rgb = Image.open(io.BytesIO(poster_frame_png(image))).convert("RGB")
        else:
            rgb = open_rgb(image, draft=(size, size))
    except ClipError:
        raise
    except Exception as exc:  # noqa: BLE001 - an undecodable image has no thumbnail
        raise LorapilotError(f"cannot decode {image.name}: {exc}") from None
    rgb.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=85)
    atomic_write_bytes(target, buffer.getvalue())
    return target

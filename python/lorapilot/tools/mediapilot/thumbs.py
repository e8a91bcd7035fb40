"""Lazy WebP thumbnails in ``cache/thumbs/``, keyed by content identity.

A thumbnail's key is a hash of the file's bytes, so a copy or a moved file
reuses it and an overwritten file gets a new one. The key is remembered on the
row (cleared whenever the file is re-read), so serving a cached thumbnail does
not read the file again. Videos get a frame from ffmpeg when it is installed
and a placeholder otherwise; unreadable images get a placeholder too.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.fsutil import atomic_write_bytes
from lorapilot.kit.videofiles import ClipError, poster_frame_png
from lorapilot.tools.mediapilot.library import MediaLibrary

SIZES = (256, 512, 1024)


def _content_key(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def thumb_size(requested: int) -> int:
    """The cached size used for a request (the smallest that is at least as large)."""
    for size in SIZES:
        if requested <= size:
            return size
    return SIZES[-1]


def thumbnail(lib: MediaLibrary, media_id: int, size: int = 256) -> Path:
    """The path of a WebP thumbnail of item ``media_id``, made on first use."""
    size = thumb_size(size)
    row = lib.row(media_id)
    if row["trash_id"]:
        raise LorapilotError(f"media item {media_id} is in the trash")
    path = lib.path_of(row)
    key = row["thumb_key"]
    if key is None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            lib.reindex([str(path)])
            raise LorapilotError(f"{row['rel']} is gone") from None
        if (st.st_size, st.st_mtime_ns, st.st_ino) != (row["size"], row["mtime_ns"], row["inode"]):
            lib.reindex([str(path)])  # the index was stale: refresh it before keying the thumbnail
        key = _content_key(path)
        with lib.index.write_lock:
            lib.index.conn.execute("UPDATE media SET thumb_key = ? WHERE id = ?", (key, media_id))
    target = lib.thumbs_dir / key[:2] / f"{key}-{size}.webp"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _render(path, row["kind"], size)
        atomic_write_bytes(target, data)
    return target


def _render(path: Path, kind: str, size: int) -> bytes:
    from PIL import Image

    image = None
    if kind == "video":
        frame = video_frame(path, size)
        if frame is not None:
            image = Image.open(io.BytesIO(frame))
    else:
        try:
            image = Image.open(path)
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
            image.thumbnail((size, size))
            image.load()  # thumbnail() skips decoding an image already small enough
        except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
            image = None
    if image is None:
        return placeholder(kind, size)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    image.thumbnail((size, size))
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def video_frame(path: Path, size: int) -> bytes | None:
    """A PNG frame from about one second in (or the first frame), or None without ffmpeg / on failure."""
    try:
        return poster_frame_png(path, size)
    except ClipError:
        return None


def placeholder(kind: str, size: int) -> bytes:
    """A plain tile with a play triangle (video) or a cross (unreadable image)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (38, 40, 48))
    draw = ImageDraw.Draw(image)
    c, r = size // 2, size // 6
    if kind == "video":
        draw.polygon([(c - r, c - r), (c - r, c + r), (c + r, c)], fill=(200, 200, 210))
    else:
        draw.line([(c - r, c - r), (c + r, c + r)], fill=(200, 90, 90), width=max(2, size // 40))
        draw.line([(c - r, c + r), (c + r, c - r)], fill=(200, 90, 90), width=max(2, size // 40))
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80)
    return out.getvalue()

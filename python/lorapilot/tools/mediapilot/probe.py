"""Identify a media file by its bytes and read its header and metadata chunks."""

from __future__ import annotations

import os
import struct

from lorapilot.kit.imagefiles import IMAGE_FORMATS
from lorapilot.tools.mediapilot.meta.chunks import PNG_SIGNATURE, Blob, Probe, read_jpeg, read_png, read_webp
from lorapilot.tools.mediapilot.meta.video import read_mp4, read_webm

_READERS = {"png": read_png, "jpeg": read_jpeg, "webp": read_webp, "mp4": read_mp4, "webm": read_webm}
# The gallery indexes the images whose metadata chunks it can read: the shared list less BMP (no
# generator writes one, and BMP has no place for prompt metadata).
IMAGE_EXTENSIONS = {suffix: fmt for suffix, fmt in IMAGE_FORMATS.items() if fmt in _READERS}
VIDEO_EXTENSIONS = {".mp4": "mp4", ".m4v": "mp4", ".webm": "webm"}
MEDIA_EXTENSIONS = {**IMAGE_EXTENSIONS, **VIDEO_EXTENSIONS}


def sniff(head: bytes) -> str | None:
    """The container format from the first bytes, or None."""
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    return None


def media_kind(name: str) -> str | None:
    """'image' or 'video' by extension, None for files we do not index."""
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return None


def probe_file(path: str | os.PathLike, size: int | None = None) -> Probe:
    """Read ``path``'s container; never raises for bad content (errors go in ``Probe.errors``).

    Raises ``OSError`` only when the file cannot be opened or read (e.g. it vanished).
    """
    path = os.fspath(path)
    expected = MEDIA_EXTENSIONS.get(os.path.splitext(path)[1].lower())
    probe = Probe(kind="video" if expected in ("mp4", "webm") else "image")
    fd = os.open(path, os.O_RDONLY)  # plain fd + pread: no buffered file object per file
    try:
        if size is None:
            size = os.fstat(fd).st_size
        if size == 0:
            probe.format = expected
            probe.errors.append("empty file (0 bytes)")
            return probe
        blob = Blob(fd, size)
        fmt = sniff(blob.at(0, 16))
        if fmt is None:
            probe.format = expected
            probe.errors.append(f"not a {expected or 'media'} file (unknown content)")
            return probe
        if expected and fmt != expected:
            probe.errors.append(f"content is {fmt.upper()} but the name says .{expected}")
        try:
            _READERS[fmt](blob, probe)
        except (struct.error, ValueError, IndexError, OverflowError, RecursionError) as exc:
            probe.errors.append(f"{fmt}: unreadable header ({type(exc).__name__}: {exc})")
    finally:
        os.close(fd)
    return probe

"""Read the last lines of a log file without reading the whole file."""

from __future__ import annotations

import os
from pathlib import Path

_BLOCK = 64 * 1024


def _tail_bytes(fh, end: int, count: int) -> bytes:
    """The bytes before ``end`` that hold at least the last ``count`` lines."""
    pos, data = end, b""
    while pos > 0 and data.count(b"\n") <= count:
        step = min(_BLOCK, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + data
    return data


def tail_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of ``path`` (decoded with replacement); [] if missing."""
    if count <= 0:
        return []
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return []
    with fh:
        data = _tail_bytes(fh, fh.seek(0, os.SEEK_END), count)
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[-count:]


def tail_and_offset(path: Path, count: int) -> tuple[list[str], int]:
    """The last ``count`` complete lines and the offset just after them.

    Following from that offset with :func:`read_from` neither repeats nor
    loses a line, however fast the file grows.
    """
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return [], 0
    with fh:
        end = fh.seek(0, os.SEEK_END)
        data = _tail_bytes(fh, end, max(count, 0))
    complete = data.rfind(b"\n") + 1  # an unfinished last line is left for read_from
    offset = end - (len(data) - complete)
    lines = data[:complete].decode("utf-8", errors="replace").splitlines()
    return (lines[-count:] if count > 0 else []), offset


_MAX_READ = 1024 * 1024


def read_from(path: Path, offset: int, max_bytes: int = _MAX_READ) -> tuple[list[str], int]:
    """Complete lines written after byte ``offset``; returns them and the new offset.

    A line ends at '\n' or at '\r' (progress bars redraw with '\r' and may not write a
    '\n' for hours). At most ``max_bytes`` are read per call, so a burst comes in bounded
    pieces; a line longer than that is handed over in pieces rather than never.
    A file that shrank (rotated or truncated) is read from its start again.
    """
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return [], 0
    if size < offset:
        offset = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(max_bytes)
    end = max(data.rfind(b"\n"), data.rfind(b"\r"))
    if end < 0:
        if len(data) < max_bytes:
            return [], offset
        end = len(data) - 1
    chunk = data[: end + 1]
    # "\n\r": a redraw at the start of a fresh line is no extra (empty) line.
    text = chunk.replace(b"\n\r", b"\n").decode("utf-8", errors="replace")
    return text.splitlines(), offset + len(chunk)

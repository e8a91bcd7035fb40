"""Read log files: the last lines without reading the whole file, and follow one as it grows.

A line ends at ``\n`` or ``\r`` (and ``\r\n`` is one end): progress bars (tqdm) redraw with ``\r``
and may not write a ``\n`` for hours. Offsets are byte offsets, safe to store and resume from.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_BLOCK = 64 * 1024


_LINE_END = re.compile(r"\r\n|\r|\n")


def _split_lines(text: str) -> list[str]:
    """``text`` cut at ``\r``/``\n`` only (``str.splitlines`` would also cut at form feeds and U+2028)."""
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _tail_bytes(fh, end: int, count: int, max_bytes: int | None = None) -> bytes:
    """The bytes before ``end`` that hold at least the last ``count`` lines (at most ``max_bytes``)."""
    pos, data = end, b""
    while pos > 0 and data.count(b"\n") <= count and (max_bytes is None or len(data) < max_bytes):
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
    lines = _split_lines(data.decode("utf-8", errors="replace"))
    return lines[-count:]


def tail_records(path: Path, count: int, max_bytes: int = 256 * 1024) -> list[str]:
    """The last ``count`` non-blank lines of a progress-bar log, each reduced to its final ``\r`` redraw.

    ``"step 1/9\rstep 9/9\n"`` is one record, ``"step 9/9"``. Reads at most ``max_bytes`` from the end.
    """
    if count <= 0:
        return []
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return []
    with fh:
        data = _tail_bytes(fh, fh.seek(0, os.SEEK_END), count, max_bytes)
    records = []
    for raw in data.decode("utf-8", errors="replace").split("\n"):
        parts = [p for p in raw.split("\r") if p.strip()]
        if parts:
            records.append(parts[-1].rstrip())
    return records[-count:]


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
    lines = _split_lines(data[:complete].decode("utf-8", errors="replace"))
    return (lines[-count:] if count > 0 else []), offset


_MAX_READ = 1024 * 1024


def read_from(path: Path, offset: int, max_bytes: int = _MAX_READ) -> tuple[list[str], int]:
    """Complete lines written after byte ``offset``; returns them and the new offset.

    A line ends at '\n' or at '\r' (progress bars redraw with '\r' and may not write a
    '\n' for hours). At most ``max_bytes`` are read per call, so a burst comes in bounded
    pieces; a line longer than that is handed over in pieces rather than never.
    A file that shrank (rotated or truncated) is read from its start again; a missing file gives
    offset 0, so one that reappears is read from its start.
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
    return _split_lines(text), offset + len(chunk)


def read_records(path: Path, offset: int, max_bytes: int = _MAX_READ) -> tuple[list[str], int]:
    """:func:`read_from` without the blank lines: a trainer's log as records (one per redraw or line)."""
    lines, offset = read_from(path, offset, max_bytes)
    return [line for line in lines if line.strip()], offset

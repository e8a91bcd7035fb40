"""Read trainer logs as records: tqdm redraws a bar with ``\\r`` and writes ``\\n`` only at the end,
so a record ends at either. Offsets are byte offsets into the log, stored with the job for re-attach.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_MAX_CHUNK = 4 * 1024 * 1024
_SEP = re.compile(rb"[\r\n]+")


def read_records(path: Path, offset: int, max_bytes: int = _MAX_CHUNK) -> tuple[list[str], int]:
    """Complete records after byte ``offset`` and the offset after the last one read.

    A record still being written (no ``\\r`` or ``\\n`` yet) is left for the next call; a log that
    shrank is read from its start again.
    """
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return [], offset
    if size < offset:
        offset = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(max_bytes)
    end = max(data.rfind(b"\n"), data.rfind(b"\r"))
    if end < 0:
        if len(data) >= max_bytes:  # one enormous line: take it whole rather than stall
            return [data.decode("utf-8", "replace")], offset + len(data)
        return [], offset
    chunk = data[: end + 1]
    records = [r.decode("utf-8", "replace") for r in _SEP.split(chunk) if r.strip()]
    return records, offset + len(chunk)


def tail_log(path: Path, count: int = 50, window: int = 256 * 1024) -> list[str]:
    """The last ``count`` lines of a log, each reduced to its final ``\\r`` redraw."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - window))
            data = fh.read()
    except FileNotFoundError:
        return []
    lines = []
    for raw in data.decode("utf-8", "replace").split("\n"):
        parts = [p for p in raw.split("\r") if p.strip()]
        if parts:
            lines.append(parts[-1].rstrip())
    return lines[-count:]

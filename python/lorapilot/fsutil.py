"""Small file-system helpers: atomic writes so nothing is ever half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The temporary file lives in the same directory so the rename is atomic; with
    ``mode`` the file has those permissions before any byte is written.
    ``fsync=False`` is for batches that flush once at the end (TagPilot's bulk edits).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        elif path.exists():
            os.fchmod(fd, path.stat().st_mode & 0o7777)
        else:
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def write_if_changed(path: Path, text: str, mode: int | None = None) -> bool:
    """Write ``text`` atomically unless the file already holds exactly it.

    Returns True when the file was written; an unchanged file keeps its mtime,
    which is what makes ``lorapilot init`` idempotent.
    """
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    atomic_write_text(path, text, mode=mode)
    return True


def _read_umask() -> int:
    # Read once at import: os.umask can only be read by setting it, which is
    # not safe to do later from a threaded server.
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()

"""Small file-system helpers: atomic writes so nothing is ever half-written."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _final_perms(path: Path, mode: int | None) -> int:
    if mode is not None:
        return mode
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


@contextlib.contextmanager
def _replacing(path: Path, mode: int | None, fsync: bool) -> Iterator[int]:
    """Yield the fd of a temporary beside ``path``; on success it replaces ``path``."""
    perms = _final_perms(path, mode)
    # Created with its final permissions (no fchmod, an extra metadata write, unless the
    # umask strips bits the file must keep); O_EXCL + a random name, like mkstemp.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, perms)
    try:
        try:
            if perms & _UMASK:
                os.fchmod(fd, perms)
            yield fd
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The temporary file lives in the same directory so the rename is atomic; with
    ``mode`` the file has those permissions before any byte is written.
    ``fsync=False`` is for batches that flush once at the end (TagPilot's bulk edits).
    """
    with _replacing(Path(path), mode, fsync) as fd:
        _write_all(fd, data)


def atomic_copy(src: Path, dest: Path, mode: int | None = None) -> None:
    """Copy ``src`` to ``dest`` through a temporary file and a rename (``mode``: final permissions)."""
    with open(src, "rb") as inp, _replacing(Path(dest), mode, fsync=True) as fd:
        while chunk := inp.read(1024 * 1024):
            _write_all(fd, chunk)


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

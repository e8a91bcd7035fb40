"""Confine user-supplied paths to a root folder (the workspace, a dataset, ...)."""

from __future__ import annotations

import os
from pathlib import Path

from lorapilot.kit.errors import LorapilotError

MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255


class PathEscapeError(LorapilotError):
    """A user path that would leave its root, or is malformed."""


def _checked_text(user_path: str | os.PathLike) -> str:
    """The path as text, refused when it holds a NUL byte or is over-long."""
    text = os.fspath(user_path)
    if "\x00" in text:
        raise PathEscapeError("path contains a NUL byte")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise PathEscapeError("path is too long")
    for part in Path(text).parts:
        if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise PathEscapeError(f"a path component is longer than {MAX_NAME_BYTES} bytes")
    return text


def check_path_text(user_path: str | os.PathLike) -> str:
    """``user_path`` as text; PathEscapeError for a NUL byte or an over-long path or name."""
    return _checked_text(user_path)


def resolve_inside(root: Path, user_path: str | os.PathLike, must_exist: bool = False) -> Path:
    """Resolve ``user_path`` (relative to ``root``) and prove it stays inside ``root``.

    Symlinks are resolved before the check, so a link that points out is
    refused. Absolute paths are accepted only when they already lie inside
    ``root``. NUL bytes, over-long paths or names are refused.
    """
    text = _checked_text(user_path)
    root_real = Path(os.path.realpath(root))
    candidate = Path(text)
    if not candidate.is_absolute():
        candidate = root_real / candidate
    real = Path(os.path.realpath(candidate))
    if real != root_real and root_real not in real.parents:
        raise PathEscapeError(f"path {text!r} is outside {root}")
    if must_exist and not real.exists():
        raise PathEscapeError(f"path {text!r} does not exist")
    return real


def resolve_entry(root: Path, user_path: str | os.PathLike) -> Path:
    """Like :func:`resolve_inside`, but a symlink at the end is the entry itself, not
    its target: for deleting, renaming or listing a link (even one that points out).
    The folder holding it must lie inside ``root``.
    """
    text = _checked_text(user_path)
    parent_text, name = os.path.split(text.rstrip("/"))  # "/x" -> ("/", "x"): absolute stays absolute
    if name in ("", ".", ".."):
        return resolve_inside(root, text)
    parent = resolve_inside(root, parent_text or ".")
    entry = parent / name
    if not entry.is_symlink():
        return resolve_inside(root, entry)
    return entry


def relative_to_root(root: Path, path: Path) -> str:
    """``path`` relative to the real ``root``, with '/' separators ('' for the root)."""
    rel = Path(os.path.realpath(path)).relative_to(Path(os.path.realpath(root)))
    return "" if str(rel) == "." else rel.as_posix()


def check_name(name: str, what: str = "name") -> str:
    """A single path component: no separators, no '..', no NUL, not empty."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise PathEscapeError(f"{what} {name!r} must be a plain name without '/' or '..'")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise PathEscapeError(f"{what} is longer than {MAX_NAME_BYTES} bytes")
    return name


# -- the one rule for links ---------------------------------------------------------------
# A path found on disk (listed, not typed by a user) may itself be a symlink, or sit in a
# folder that is one. It is read, listed, copied or linked only when it resolves inside the
# workspace or an allowed extra root; otherwise it is treated as absent.


def within(path: str | os.PathLike, roots: Path | str | os.PathLike | list | tuple) -> bool:
    """Whether ``path``, with every symlink resolved, lies inside one of ``roots`` (or is one)."""
    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    real = os.path.realpath(path)
    for root in roots:
        root_real = os.path.realpath(root)
        if real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep):
            return True
    return False


def escapes(path: str | os.PathLike, roots) -> bool:
    """Whether ``path`` resolves outside every one of ``roots`` (through a link on the way)."""
    return not within(path, roots)


def confined_entries(folder: str | os.PathLike, roots) -> list[os.DirEntry]:
    """``os.scandir(folder)`` without the symlinks that resolve outside ``roots``.

    The folder itself must lie inside ``roots`` (else nothing is listed).
    """
    if escapes(folder, roots):
        return []
    with os.scandir(Path(folder)) as it:
        return [e for e in it if not (e.is_symlink() and escapes(e.path, roots))]


def open_confined(path: str | os.PathLike, roots, mode: str = "rb"):
    """Open ``path`` for reading, refusing (PathEscapeError) one that resolves outside ``roots``."""
    if escapes(path, roots):
        raise PathEscapeError(f"{os.fspath(path)!r} links outside the workspace")
    return open(path, mode)

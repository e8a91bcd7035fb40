"""Add, remove and list MediaPilot's extra roots (``[mediapilot] extra_roots`` in ``config/lorapilot.toml``).

The CLI and the API both call these; the settings file is edited in place (comments kept) and atomically
(:mod:`lorapilot.tools.mediapilot.tomledit`). A new root is scanned by the caller (with progress) and picked up by
a running watcher within its roots check. A removed root's rows leave the index; its favourites and tags are
kept by path and come back if the same folder is added again.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.safepath import PathEscapeError, check_path_text, within
from lorapilot.kit.tomlconfig import read_toml
from lorapilot.stack.settings import load_settings
from lorapilot.tools.mediapilot.library import OUTPUTS_LABEL, MediaLibrary
from lorapilot.tools.mediapilot.tomledit import set_string_array


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _within(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


@contextmanager
def _settings_lock(lib: MediaLibrary):
    """One roots edit at a time across processes (the CLI beside a running ControlPilot)."""
    lock_path = lib.ws.state_dir("mediapilot") / "roots.lock"
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _current_entries(lib: MediaLibrary) -> list[str]:
    return list(load_settings(lib.ws.settings_file).mediapilot.extra_roots)


def _section(lib: MediaLibrary) -> str:
    """The table to edit: ``[mediapilot]``, or the old ``[media]`` where the file still uses it."""
    path = lib.ws.settings_file
    return "media" if path.exists() and "media" in read_toml(path) else "mediapilot"


def _save(lib: MediaLibrary, entries: list[str]) -> None:
    set_string_array(lib.ws.settings_file, _section(lib), "extra_roots", entries)
    lib._follow_settings()


def _api_may_add(lib: MediaLibrary, real: Path) -> bool:
    """A folder the API may add: inside the workspace, or under ``[mediapilot] api_allowed_roots``."""
    extra = load_settings(lib.ws.settings_file).mediapilot.api_allowed_roots
    allowed = [lib.ws.root, *(Path(p).expanduser() for p in extra)]
    return within(real, [p for p in allowed if p.is_absolute()])


def check_new_root(lib: MediaLibrary, value: str, trusted: bool = True) -> Path:
    """The absolute path a new root ``value`` stands for, or an error naming the value and the reason.

    ``trusted=False`` (ControlPilot's API): only folders inside the workspace or under ``[mediapilot]
    api_allowed_roots``; an administrator adds any other folder with the CLI or the settings file.
    """
    if not value or not value.strip():
        raise LorapilotError("media root: the path is empty")
    check_path_text(value)
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise LorapilotError(f"media root {value!r}: give an absolute path")
    path = Path(os.path.normpath(path))
    if not path.exists():
        raise LorapilotError(f"media root {value!r}: no such folder")
    if not path.is_dir():
        raise LorapilotError(f"media root {value!r}: not a folder")
    real = _real(path)
    if not trusted and not _api_may_add(lib, real):
        raise PathEscapeError(
            f"media root {value!r}: outside the workspace; add it with `lorapilot mediapilot roots add` or list it "
            "in [mediapilot] api_allowed_roots of config/lorapilot.toml"
        )
    if ".trash" in real.parts:
        raise LorapilotError(f"media root {value!r}: is a trash folder")
    ws_root = _real(lib.ws.root)
    for name, forbidden in (
        ("the workspace's config/", lib.ws.config),
        ("the workspace's .trash/", lib.ws.trash),
        ("the workspace's cache/", lib.ws.cache),
    ):
        if _within(real, _real(forbidden)):
            raise LorapilotError(f"media root {value!r}: is inside {name} ({forbidden})")
    for root_path, label in lib.root_paths():
        if real == root_path:
            raise ConflictError(f"media root {value!r}: already indexed as root {label!r}")
        if _within(real, root_path):
            raise ConflictError(
                f"media root {value!r}: is inside the root {label!r} ({root_path}), which indexes it already"
            )
        if _within(root_path, real):
            raise ConflictError(
                f"media root {value!r}: contains the root {label!r} ({root_path}); a file must belong to one root"
            )
    if real == ws_root:
        raise LorapilotError(f"media root {value!r}: is the workspace itself")
    return path


def add_root(lib: MediaLibrary, value: str, trusted: bool = True) -> dict:
    """Check ``value`` and append it to ``[mediapilot] extra_roots``; returns the new root's entry.

    The caller scans it (``lib.scan``) to index it now; a running watcher picks it up by itself.
    """
    with _settings_lock(lib):
        path = check_new_root(lib, value, trusted)
        entries = _current_entries(lib)
        _save(lib, [*entries, str(path)])
    return next(r for r in list_roots(lib) if r["path"] == str(_real(path)))


def _matching_entry(lib: MediaLibrary, entries: list[str], value: str) -> str:
    """The entry of ``entries`` that ``value`` names: as written, or the same folder spelled differently."""
    if value in entries:
        return value
    check_path_text(value)
    wanted = Path(os.path.normpath(Path(value).expanduser())) if value else None
    for entry in entries:
        path = Path(entry).expanduser()
        path = path if path.is_absolute() else lib.ws.root / path
        if wanted is not None and (Path(os.path.normpath(path)) == wanted or _real(path) == _real(wanted)):
            return entry
    if value in (OUTPUTS_LABEL, str(lib.ws.outputs)) or (value and _real(Path(value)) == _real(lib.ws.outputs)):
        raise LorapilotError(f"media root {value!r}: outputs/ is always indexed and cannot be removed")
    listed = ", ".join(entries) or "none"
    raise NotFoundError(f"media root {value!r} is not an extra root (extra roots: {listed})")


def remove_root(lib: MediaLibrary, value: str) -> dict:
    """Drop ``value`` from ``[mediapilot] extra_roots`` and its files from the index (the files stay on disk).

    Favourites and tags of its files are kept and come back if the folder is added again; items of it
    in the trash stay in the trash view, restorable.
    """
    with _settings_lock(lib):
        entries = _current_entries(lib)
        entry = _matching_entry(lib, entries, value)
        root = next((r for r in lib.roots() if r.label == entry), None)
        _save(lib, [e for e in entries if e != entry])
    removed = 0
    if root is not None and all(r.id != root.id for r in lib.roots()):
        with lib.scan_lock:  # not while a scan of it is writing rows
            removed = lib.index.drop_root(root.id)
    return {"removed": entry, "unindexed": removed}


def list_roots(lib: MediaLibrary) -> list[dict]:
    """Every root with its indexed file count and whether it is reachable now."""
    counts = dict(
        lib.index.read()
        .execute("SELECT root_id, count(*) FROM media WHERE trash_id IS NULL GROUP BY root_id")
        .fetchall()
    )
    out = []
    for root in lib.roots():
        reachable = root.path.is_dir() and os.access(root.path, os.R_OK | os.X_OK)
        out.append(
            {
                "id": root.id,
                "label": root.label,
                "path": str(root.path),
                "files": counts.get(root.id, 0),
                "reachable": reachable,
                "removable": root.label != OUTPUTS_LABEL,
            }
        )
    return out

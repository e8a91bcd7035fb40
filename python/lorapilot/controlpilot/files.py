"""The workspace file browser: list, download, upload, mkdir, rename, delete to trash.

Every user path goes through :mod:`lorapilot.kit.safepath` (resolved after symlinks,
checked against the workspace root); uploads are written to a temporary file
beside their target and linked into place only when complete and within the
size limit; deleting moves to the workspace's trash. Secrets are never served.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.safepath import PathEscapeError, check_name, relative_to_root, resolve_entry, resolve_inside
from lorapilot.kit.trash import TRASH_DIR, Trash, TrashItem
from lorapilot.stack.workspace.layout import TOP_FOLDERS

# Never read, written, renamed or deleted through the browser (relative to the root).
# HF_HOME is cache/huggingface: a `hf auth login` inside a service writes its token there.
PROTECTED = frozenset(
    {
        "config/secrets.env",
        "config/controlpilot-tokens.json",
        "cache/huggingface/token",
        "cache/huggingface/stored_tokens",
    }
)
_UPLOAD_PREFIX = ".upload-"


def _os_errors(action: str):
    """Turn an OSError of a file operation into a clear user error (not a 500)."""

    def wrap(func):
        @functools.wraps(func)
        def inner(self, *args, **kwargs):
            try:
                return func(self, *args, **kwargs)
            except OSError as exc:
                where = f" {args[0]!r}" if args and isinstance(args[0], str) else ""
                raise LorapilotError(f"cannot {action}{where}: {exc.strerror or exc}") from None

        return inner

    return wrap


class UploadTooLarge(LorapilotError):
    """The upload is over the size limit (HTTP 413)."""

    http_status = 413


@dataclass(frozen=True)
class Entry:
    name: str
    path: str  # relative to the root, '/' separated
    kind: str  # "dir", "file", "link" (a symlink whose target is outside or missing), "other"
    size: int | None
    mtime: float
    is_symlink: bool
    protected: bool


class FileBrowser:
    """File operations confined to ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.real_root = Path(os.path.realpath(root))
        self.trash = Trash(self.root)

    # -- paths ---------------------------------------------------------------
    def rel(self, path: Path) -> str:
        return (
            "/".join(filter(None, [relative_to_root(self.root, path.parent), path.name]))
            if path != self.real_root
            else ""
        )

    def _guard(self, path: Path, action: str) -> Path:
        rel = self.rel(path)
        if rel in PROTECTED:
            raise PathEscapeError(f"{rel} holds secrets and cannot be {action} here (use `lorapilot secrets`)")
        if rel == TRASH_DIR or rel.startswith(TRASH_DIR + "/"):
            raise PathEscapeError(f"{rel} is inside the trash; restore items from the trash instead")
        return path

    def _new_entry(self, folder: str, name: str) -> Path:
        """Where a new entry ``name`` in ``folder`` goes; refuses names that exist."""
        check_name(name)
        target = resolve_entry(self.root, f"{folder.rstrip('/')}/{name}" if folder else name)
        self._guard(target, "written")
        if os.path.lexists(target):
            raise ConflictError(f"{self.rel(target)} already exists")
        if not target.parent.is_dir():
            raise NotFoundError(f"folder {self.rel(target.parent) or '/'} does not exist")
        return target

    # -- reading -------------------------------------------------------------
    @_os_errors("list")
    def list(self, folder: str = "") -> tuple[str, list[Entry]]:
        """The entries of ``folder``: folders first, then by name. The trash is hidden."""
        path = resolve_inside(self.root, folder or ".")
        if not path.exists():
            raise NotFoundError(f"folder {folder!r} does not exist")
        if not path.is_dir():
            raise LorapilotError(f"{folder!r} is a file, not a folder")
        entries = []
        with os.scandir(path) as it:
            for item in it:
                if path == self.real_root and item.name == TRASH_DIR:
                    continue
                entries.append(self._entry(path, item))
        entries.sort(key=lambda e: (e.kind != "dir", e.name.lower()))
        return self.rel(path), entries

    def _entry(self, folder: Path, item: os.DirEntry) -> Entry:
        rel = self.rel(folder / item.name)
        try:
            st = item.stat(follow_symlinks=False)
        except OSError:
            return Entry(item.name, rel, "other", None, 0.0, False, rel in PROTECTED)
        kind, size = "other", None
        is_link = stat.S_ISLNK(st.st_mode)
        if is_link:
            try:  # a link counts as its target only when the target is inside the root
                target = resolve_inside(self.root, folder / item.name, must_exist=True)
                tst = target.stat()
                kind = "dir" if stat.S_ISDIR(tst.st_mode) else "file"
                size = None if kind == "dir" else tst.st_size
            except (OSError, PathEscapeError):
                kind = "link"
        elif stat.S_ISDIR(st.st_mode):
            kind = "dir"
        elif stat.S_ISREG(st.st_mode):
            kind, size = "file", st.st_size
        return Entry(item.name, rel, kind, size, st.st_mtime, is_link, rel in PROTECTED)

    @_os_errors("read")
    def file_for_download(self, path: str) -> Path:
        """The real file behind ``path``; refuses folders, secrets and anything outside."""
        real = self._guard(resolve_inside(self.root, path), "read")
        if not real.exists():
            raise NotFoundError(f"{path!r} does not exist")
        if not real.is_file():
            raise LorapilotError(f"{path!r} is not a file")
        return real

    # -- changing --------------------------------------------------------------
    @_os_errors("create a folder in")
    def mkdir(self, folder: str, name: str) -> str:
        target = self._new_entry(folder, name)
        target.mkdir()
        return self.rel(target)

    @_os_errors("rename")
    def rename(self, path: str, new_path: str) -> str:
        """Rename or move ``path`` to ``new_path`` (both inside the root); never overwrites."""
        source = self._guard(resolve_entry(self.root, path), "renamed")
        if not os.path.lexists(source):
            raise NotFoundError(f"{path!r} does not exist")
        self._refuse_layout_folder(source, "renamed")
        self._refuse_moving_secrets(source)
        folder, name = os.path.split(new_path.rstrip("/"))
        target = self._new_entry(folder, name)
        if source.is_dir() and not source.is_symlink() and source in target.parents:
            raise LorapilotError(f"cannot move {self.rel(source)} into itself")
        os.rename(source, target)
        return self.rel(target)

    @_os_errors("delete")
    def delete(self, path: str) -> TrashItem:
        """Move ``path`` to the workspace trash (restore brings it back)."""
        source = self._guard(resolve_entry(self.root, path), "deleted")
        if not os.path.lexists(source):
            raise NotFoundError(f"{path!r} does not exist")
        self._refuse_layout_folder(source, "deleted")
        return self.trash.move(source, source="files")

    @_os_errors("restore")
    def restore(self, item_id: str, to: str | None = None) -> str:
        if to is not None:
            self._guard(resolve_entry(self.root, to), "written")
        return self.rel(self.trash.restore(item_id, to))

    def _refuse_moving_secrets(self, folder: Path) -> None:
        """A folder that holds a protected file keeps its place: moved, its secrets would be served."""
        rel = self.rel(folder)
        held = [p for p in PROTECTED if p.startswith(f"{rel}/") and os.path.lexists(self.real_root / p)]
        if held and not folder.is_symlink():
            raise PathEscapeError(f"{rel} holds secrets ({', '.join(sorted(held))}) and cannot be moved")

    def _refuse_layout_folder(self, path: Path, action: str) -> None:
        if path == self.real_root or (path.parent == self.real_root and path.name in TOP_FOLDERS):
            raise LorapilotError(
                f"{self.rel(path) or 'the workspace'} is part of the workspace layout and cannot be {action}"
            )

    # -- uploads -----------------------------------------------------------------
    @_os_errors("upload into")
    def begin_upload(self, folder: str, name: str, limit_bytes: int, expected: int | None = None) -> Upload:
        """Start writing ``name`` into ``folder``; ``expected`` is the announced size."""
        if expected is not None and expected > limit_bytes:
            raise UploadTooLarge(f"{name} is {expected} bytes; the upload limit is {limit_bytes} bytes")
        target = self._new_entry(folder, name)
        if expected is not None:
            free = os.statvfs(target.parent).f_bavail * os.statvfs(target.parent).f_frsize
            if expected > free:
                raise LorapilotError(f"not enough disk space for {name}: {expected} bytes needed, {free} free")
        return Upload(self, target, limit_bytes)


class Upload:
    """One upload in progress: a temporary file beside the target."""

    def __init__(self, browser: FileBrowser, target: Path, limit_bytes: int):
        self.browser = browser
        self.target = target
        self.limit = limit_bytes
        self.size = 0
        fd, tmp = tempfile.mkstemp(prefix=_UPLOAD_PREFIX, suffix=".part", dir=target.parent)
        self.tmp = Path(tmp)
        self._fh = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.abort()
            raise UploadTooLarge(f"{self.target.name} is over the upload limit of {self.limit} bytes")
        self._fh.write(chunk)

    def commit(self) -> str:
        """Put the complete file in place; fails (and cleans up) if the name was taken meanwhile."""
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.chmod(self.tmp, 0o644)
            try:
                os.link(self.tmp, self.target)  # atomic, and never replaces an existing file
            except FileExistsError:
                raise ConflictError(f"{self.browser.rel(self.target)} already exists") from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
                    raise
                if os.path.lexists(self.target):  # a file system without hard links
                    raise ConflictError(f"{self.browser.rel(self.target)} already exists") from None
                os.rename(self.tmp, self.target)
        finally:
            self.abort()
        return self.browser.rel(self.target)

    def abort(self) -> None:
        """Remove the temporary file (nothing of a refused upload stays on disk)."""
        if not self._fh.closed:
            self._fh.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass

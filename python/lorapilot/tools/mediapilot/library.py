"""One workspace's media library: its roots, index, trash and thumbnail cache.

The CLI and the API both go through :class:`MediaLibrary`; it is the only
place that turns a row into a path on disk.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from lorapilot.kit.errors import LorapilotError, NotFoundError
from lorapilot.kit.progress import Progress, no_progress
from lorapilot.kit.safepath import resolve_inside
from lorapilot.kit.trash import Trash
from lorapilot.stack.settings import MediaSettings, load_settings
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.mediapilot.index import MediaIndex
from lorapilot.tools.mediapilot.scan import Root, ScanReport, reindex_paths, scan_roots

OUTPUTS_LABEL = "outputs"
log = logging.getLogger(__name__)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class MediaLibrary:
    """Index + roots + trash of one workspace."""

    def __init__(
        self,
        workspace: Workspace,
        settings: MediaSettings | None = None,
        db_path: Path | None = None,
        settings_file: Path | None = None,
    ):
        self.ws = workspace
        self.settings = settings or MediaSettings()
        # Opened from a context: the roots follow config/lorapilot.toml as it changes (a root added from the
        # CLI reaches a running ControlPilot and its watcher), see :meth:`_follow_settings`.
        self.settings_file = settings_file
        self._settings_signature = None  # the first look reads the file: ``settings`` may predate it
        self.index = MediaIndex(db_path or workspace.state_dir("mediapilot") / "index.db")
        self.thumbs_dir = workspace.cache / "thumbs"
        self.scan_lock = threading.Lock()

    @classmethod
    def open(cls, ctx) -> MediaLibrary:
        """The library of a :class:`lorapilot.stack.context.Context`."""
        return cls(ctx.workspace, ctx.settings.mediapilot, settings_file=ctx.workspace.settings_file)

    def close(self) -> None:
        self.index.close()

    # -- roots ---------------------------------------------------------------------------------

    def _follow_settings(self) -> None:
        """Reload ``[mediapilot]`` when the settings file changed; a broken file keeps the last good settings."""
        if self.settings_file is None:
            return
        signature = _signature(self.settings_file)
        if signature == self._settings_signature:
            return
        self._settings_signature = signature
        try:
            self.settings = load_settings(self.settings_file).mediapilot
        except LorapilotError as exc:
            log.warning("media roots: keeping the previous settings: %s", exc)

    def root_paths(self) -> list[tuple[Path, str]]:
        """(real path, label) of every configured root: ``outputs/`` first, then the extra roots."""
        self._follow_settings()
        out = [(Path(os.path.realpath(self.ws.outputs)), OUTPUTS_LABEL)]
        for entry in self.settings.extra_roots:
            path = Path(entry).expanduser()
            if not path.is_absolute():
                path = self.ws.root / path
            real = Path(os.path.realpath(path))
            if all(real != p for p, _ in out):
                out.append((real, str(entry)))
        return out

    def roots(self) -> list[Root]:
        return [Root(self.index.root_id(path, label), path, label) for path, label in self.root_paths()]

    def root(self, root_id: int) -> Root:
        for root in self.roots():
            if root.id == root_id:
                return root
        path, label = self.index.roots().get(root_id, (None, None))
        if path is None:
            raise NotFoundError(f"no media root {root_id}")
        return Root(root_id, path, label)

    def root_by_label(self, label: str) -> Root:
        for root in self.roots():
            if root.label == label:
                return root
        raise NotFoundError(f"no media root {label!r} (roots: {', '.join(r.label for r in self.roots())})")

    def trash_for(self, root: Root) -> Trash:
        """Files under the workspace go to its trash; an extra root outside it has its own ``.trash``."""
        ws_real = Path(os.path.realpath(self.ws.root))
        if root.path == ws_real or ws_real in root.path.parents:
            return Trash(self.ws.root)
        return Trash(root.path)

    # -- scanning --------------------------------------------------------------------------------

    def scan(self, progress: Progress = no_progress, cancel: threading.Event | None = None) -> ScanReport:
        """Bring the index in line with the files (incremental; vanished files leave it)."""
        with self.scan_lock:
            roots, missing = [], []
            for root in self.roots():
                (roots if root.path.is_dir() else missing).append(root)
            report = scan_roots(self.index, roots, progress, cancel, keep_root_ids={r.id for r in missing})
            for root in roots:  # favourites and tags of a root removed earlier and now added again
                self.index.restore_kept(root.id)
            report.errors += [f"root {r.label} ({r.path}) is missing: its entries are kept" for r in missing]
            return report

    def reindex(self, paths: list[str]) -> ScanReport:
        """Re-check the given files (from the watcher or after a move/copy/restore)."""
        return reindex_paths(self.index, self.roots(), paths)

    # -- rows ----------------------------------------------------------------------------------

    def row(self, media_id: int, conn=None):
        row = (conn or self.index.read()).execute("SELECT * FROM media WHERE id = ?", (media_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no media item {media_id}")
        return row

    def path_of(self, row) -> Path:
        """Where a (not trashed) row's file is on disk, proven to be inside its root.

        Symlinks are resolved first: a file swapped for a link to elsewhere after it
        was indexed is refused rather than served.
        """
        return resolve_inside(self.root(row["root_id"]).path, row["rel"])

    def detail(self, media_id: int, conn=None) -> dict:
        """Everything about one item: fields, LoRAs, tags, raw chunk names."""
        conn = conn or self.index.read()
        row = self.row(media_id, conn)
        data = dict(row)
        data["params"] = json.loads(row["params"]) if row["params"] else None
        data["root"] = self.root(row["root_id"]).label
        data["loras"] = (data["params"] or {}).get("loras", [])
        data["tags"] = [
            r[0] for r in conn.execute("SELECT tag FROM media_tag WHERE media_id = ? ORDER BY tag", (media_id,))
        ]
        data["raw_keys"] = [
            r[0] for r in conn.execute("SELECT key FROM media_raw WHERE media_id = ? ORDER BY key", (media_id,))
        ]
        return data

    def raw_chunks(self, media_id: int, conn=None) -> dict[str, str]:
        conn = conn or self.index.read()
        self.row(media_id, conn)
        return {
            r[0]: r[1]
            for r in conn.execute("SELECT key, text FROM media_raw WHERE media_id = ? ORDER BY rowid", (media_id,))
        }

"""Keep the index fresh: watch the roots with watchfiles and re-check the files that changed."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from lorapilot.mediapilot.library import MediaLibrary
from lorapilot.mediapilot.scan import ScanReport

log = logging.getLogger(__name__)


def watch(lib: MediaLibrary, stop: threading.Event, on_batch: Callable[[ScanReport], None] | None = None,
          debounce_ms: int = 400, initial_scan: bool = True) -> None:
    """Block until ``stop`` is set, re-indexing changed files in batches.

    A full scan runs first (files may have changed while nothing watched). A
    write, an in-place overwrite, a rename and a delete all arrive as events for
    the paths involved; each is re-checked against the disk, so the event kind
    does not matter.
    """
    from watchfiles import watch as watch_paths

    if initial_scan:
        report = lib.scan()
        if on_batch:
            on_batch(report)
    paths = [str(r.path) for r in lib.roots() if r.path.is_dir()]
    if not paths:
        stop.wait()
        return
    for changes in watch_paths(*paths, stop_event=stop, debounce=debounce_ms, step=50, rust_timeout=1000,
                               yield_on_timeout=False, raise_interrupt=False):
        try:
            report = lib.reindex([path for _, path in changes])
        except Exception:  # noqa: BLE001 - one bad batch must not stop the watcher
            log.exception("media watcher: re-index failed")
            continue
        if on_batch and (report.added or report.updated or report.removed):
            on_batch(report)


class Watcher:
    """The watcher as a daemon thread (ControlPilot starts one per app)."""

    def __init__(self, lib: MediaLibrary, on_batch: Callable[[ScanReport], None] | None = None):
        self.lib = lib
        self.on_batch = on_batch
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mediapilot-watch", daemon=True)
        self.error: str | None = None

    def _run(self) -> None:
        try:
            watch(self.lib, self.stop_event, self.on_batch)
        except Exception as exc:  # noqa: BLE001 - report, do not crash the server
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("media watcher stopped")

    def start(self) -> "Watcher":
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

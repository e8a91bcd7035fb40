"""Keep the index fresh: watch the roots with watchfiles and re-check the files that changed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from lorapilot.tools.mediapilot.library import MediaLibrary
from lorapilot.tools.mediapilot.scan import ScanReport

log = logging.getLogger(__name__)


ROOTS_CHECK_S = 10.0  # how often the watcher looks for roots that appeared or went away


def _present_roots(lib: MediaLibrary) -> list[str]:
    return [str(r.path) for r in lib.roots() if r.path.is_dir()]


class _StopOrRootsChanged:
    """The watch's stop signal: ``stop`` is set, or the set of present roots changed (a network volume
    mounted after the start, an extra root created later), so the watch restarts on the new set."""

    def __init__(self, lib: MediaLibrary, stop: threading.Event, watching: list[str], every_s: float):
        self.lib, self.stop, self.watching, self.every_s = lib, stop, watching, every_s
        self.next_check = time.monotonic() + every_s

    def is_set(self) -> bool:
        if self.stop.is_set():
            return True
        if time.monotonic() < self.next_check:
            return False
        self.next_check = time.monotonic() + self.every_s
        return _present_roots(self.lib) != self.watching


def watch(
    lib: MediaLibrary,
    stop: threading.Event,
    on_batch: Callable[[ScanReport], None] | None = None,
    debounce_ms: int = 400,
    initial_scan: bool = True,
    roots_check_s: float = ROOTS_CHECK_S,
) -> None:
    """Block until ``stop`` is set, re-indexing changed files in batches.

    A full scan runs first (files may have changed while nothing watched), and again whenever a root
    appears or goes away. A write, an in-place overwrite, a rename and a delete all arrive as events
    for the paths involved; each is re-checked against the disk, so the event kind does not matter.
    """
    from watchfiles import watch as watch_paths

    scan = initial_scan
    while not stop.is_set():
        if scan:
            report = lib.scan()
            if on_batch:
                on_batch(report)
        scan = True
        paths = _present_roots(lib)
        if not paths:
            signal = _StopOrRootsChanged(lib, stop, paths, roots_check_s)
            while not signal.is_set():
                stop.wait(roots_check_s / 4)
            continue
        for changes in watch_paths(
            *paths,
            stop_event=_StopOrRootsChanged(lib, stop, paths, roots_check_s),
            debounce=debounce_ms,
            step=50,
            rust_timeout=min(1000, int(roots_check_s * 250)),
            yield_on_timeout=False,
            raise_interrupt=False,
        ):
            try:
                report = lib.reindex([path for _, path in changes])
            except Exception:  # noqa: BLE001 - one bad batch must not stop the watcher
                log.exception("media watcher: re-index failed")
                continue
            if on_batch and (report.added or report.updated or report.removed):
                on_batch(report)


class Watcher:
    """The watcher as a daemon thread (ControlPilot starts one per app)."""

    def __init__(
        self,
        lib: MediaLibrary,
        on_batch: Callable[[ScanReport], None] | None = None,
        roots_check_s: float = ROOTS_CHECK_S,
    ):
        self.lib = lib
        self.on_batch = on_batch
        self.roots_check_s = roots_check_s
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mediapilot-watch", daemon=True)
        self.error: str | None = None

    def _run(self) -> None:
        try:
            watch(self.lib, self.stop_event, self.on_batch, roots_check_s=self.roots_check_s)
        except Exception as exc:  # noqa: BLE001 - report, do not crash the server
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("media watcher stopped")

    def start(self) -> Watcher:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

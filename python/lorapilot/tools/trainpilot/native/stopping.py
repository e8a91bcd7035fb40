"""Stop-and-save requests: SIGTERM/SIGINT, or a ``save_quit`` file in the output folder."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

log = logging.getLogger(__name__)

SAVE_QUIT = "save_quit"


class StopRequest:
    """Set by a signal or the ``save_quit`` file; the loop checks it once per optimizer step.

    Repeated signals do not force an exit: the launcher of a multi-process run forwards the same
    signal again while the trainer is already saving (SIGKILL still ends it at once).
    """

    def __init__(self, output_dir: Path, watch_file: bool = True):
        self.file = output_dir / SAVE_QUIT
        self.watch_file = watch_file
        self.signalled: int | None = None
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _on_signal(self, signum, _frame) -> None:
        if self.signalled is None:
            log.warning("received %s: saving and stopping after this step", signal.Signals(signum).name)
        self.signalled = signum

    @property
    def requested(self) -> bool:
        return self.signalled is not None or (self.watch_file and self.file.exists())

    def clear_file(self) -> None:
        """Remove a honoured ``save_quit`` so that resuming does not stop again at once."""
        self.file.unlink(missing_ok=True)

"""The ``[trainpilot] ...`` lines the queue reads from stdout (see the package docstring for the contract)."""

from __future__ import annotations

import sys
import time
from collections import deque
from pathlib import Path
from typing import TextIO

PREFIX = "[trainpilot]"


class Reporter:
    """Prints progress and event lines; silent on every process but the main one.

    ``its`` is the optimizer steps per second over the last ``window`` steps, so a slow first
    step (compilation, cache warm-up) stops counting once the window has moved past it.
    """

    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None, window: int = 20):
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self._times: deque[float] = deque(maxlen=window + 1)

    def start(self, step: int) -> None:
        """Mark the clock at ``step`` (the first step of this process, 0 or the resumed step)."""
        self._times.clear()
        self._times.append(time.perf_counter())

    def steps_per_second(self) -> float:
        if len(self._times) < 2:
            return 0.0
        elapsed = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / elapsed if elapsed > 0 else 0.0

    def step(self, step: int, loss: float, lr: float) -> None:
        self._times.append(time.perf_counter())
        self._emit(f"step={step} total={self.total} loss={loss:.6f} lr={lr:.3e} its={self.steps_per_second():.2f}")

    def sample(self, step: int, path: Path) -> None:
        self._emit(f"sample step={step} path={path}")

    def checkpoint(self, step: int, path: Path) -> None:
        self._emit(f"checkpoint step={step} path={path}")

    def state(self, step: int, path: Path) -> None:
        self._emit(f"state step={step} path={path}")

    def done(self, path: Path) -> None:
        self._emit(f"done path={path}")

    def stopped(self, step: int) -> None:
        self._emit(f"stopped step={step}")

    def _emit(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"{PREFIX} {text}\n")
            self.stream.flush()

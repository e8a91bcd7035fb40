"""Progress reporting and cancellation for long work, shared by CLI and API.

Library functions take a ``progress`` callable (``progress(current, total,
message)``) and a ``cancel`` event; the CLI passes a rich progress bar, the
API passes a :class:`lorapilot.kit.tasks.Task` reporter.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from lorapilot.kit.errors import LorapilotError


class Cancelled(LorapilotError):
    """Raised inside work whose cancel event was set."""


class Progress(Protocol):
    def __call__(self, current: float, total: float | None = None, message: str = "") -> None: ...


def no_progress(current: float, total: float | None = None, message: str = "") -> None:
    """A Progress that ignores updates."""


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise :class:`Cancelled` when ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")


class CancelEvent(threading.Event):
    """A task's cancel request, which its work can close once nothing can be stopped any more."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = False


def last_cancel_point(cancel: threading.Event | None) -> None:
    """Like :func:`check_cancel`, then close ``cancel``: the work now always runs to its end.

    A cancel that arrives later (while, say, finished files are renamed into place) is too late to
    stop anything, so the task must end "done", not "cancelled".
    """
    check_cancel(cancel)
    if isinstance(cancel, CancelEvent):
        cancel.closed = True


@contextlib.contextmanager
def cli_progress(description: str, total: float | None = None, unit: str = "") -> Iterator[Callable]:
    """A rich progress bar on stderr, as a :class:`Progress` callable."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    if unit == "bytes":
        columns[2] = TransferSpeedColumn()
    from rich.console import Console

    with RichProgress(*columns, transient=False, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)

        def report(current: float, total: float | None = None, message: str = "") -> None:
            kwargs: dict[str, Any] = {"completed": current}
            if total is not None:
                kwargs["total"] = total
            if message:
                kwargs["description"] = f"{description}: {message}"
            bar.update(task, **kwargs)

        yield report

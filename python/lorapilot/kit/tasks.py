"""In-process background tasks with live progress (downloads, captioning, scans).

ControlPilot runs long work through a :class:`TaskManager`; the UI watches it
over ``/api/tasks`` and the SSE event stream. (Training has its own durable
SQLite queue in TrainPilot: it must outlive the process, these need not.)
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from lorapilot.kit.errors import LorapilotError, NotFoundError
from lorapilot.kit.progress import CancelEvent, Cancelled

TaskState = Literal["queued", "running", "done", "failed", "cancelled"]
_KEEP_FINISHED = 200


@dataclass
class Task:
    id: str
    kind: str
    title: str
    state: TaskState = "queued"
    current: float = 0
    total: float | None = None
    message: str = ""
    error: str | None = None
    result: Any = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    cancel_event: CancelEvent = field(default_factory=CancelEvent, repr=False)

    def to_dict(self) -> dict:
        # Not asdict(): it deep-copies every field, and an Event holds a lock.
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "cancel_event"}


class TaskManager:
    """Runs callables in threads and tracks their progress.

    ``version`` increases on every change; :meth:`wait_for_change` lets an SSE
    endpoint block until there is something new instead of polling.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._cond = threading.Condition()
        self.version = 0

    def _changed(self) -> None:
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def submit(
        self,
        kind: str,
        title: str,
        work: Callable[[Callable, threading.Event], Any],
        total: float | None = None,
    ) -> Task:
        """Start ``work(progress, cancel_event)`` in a thread; returns its Task at once."""
        task = Task(id=uuid.uuid4().hex[:12], kind=kind, title=title, total=total)
        with self._cond:
            self._tasks[task.id] = task
            self._prune()
        self._changed()

        def progress(current: float, total: float | None = None, message: str = "") -> None:
            task.current = current
            if total is not None:
                task.total = total
            if message:
                task.message = message
            self._changed()

        def run() -> None:
            task.state = "running"
            task.started_at = time.time()
            self._changed()
            try:
                task.result = work(progress, task.cancel_event)
                late = task.cancel_event.closed  # a cancel after the last cancel point stopped nothing
                task.state = "cancelled" if task.cancel_event.is_set() and not late else "done"
            except Cancelled:
                task.state = "cancelled"
            except LorapilotError as exc:
                task.state, task.error = "failed", str(exc)
            except Exception as exc:  # noqa: BLE001 - a task must never kill the server
                task.state, task.error = "failed", f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
            finally:
                task.finished_at = time.time()
                self._changed()

        threading.Thread(target=run, name=f"task-{kind}-{task.id}", daemon=True).start()
        return task

    def get(self, task_id: str) -> Task:
        try:
            return self._tasks[task_id]
        except KeyError:
            raise NotFoundError(f"no task {task_id!r}") from None

    def list(self, kind: str | None = None) -> list[Task]:
        tasks = sorted(self._tasks.values(), key=lambda t: t.created_at, reverse=True)
        return [t for t in tasks if kind is None or t.kind == kind]

    def cancel(self, task_id: str) -> Task:
        task = self.get(task_id)
        task.cancel_event.set()
        self._changed()
        return task

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until ``version`` differs from ``since`` or ``timeout`` passes."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != since, timeout=timeout)
            return self.version

    def _prune(self) -> None:
        finished = [t for t in self._tasks.values() if t.finished_at is not None]
        finished.sort(key=lambda t: t.finished_at or 0.0)  # never None here: filtered above
        for task in finished[: max(0, len(finished) - _KEEP_FINISHED)]:
            del self._tasks[task.id]

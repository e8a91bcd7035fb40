"""The live parts of one ControlPilot app: event hub, service watcher, telemetry
sampler and the task-progress bridge. Started on first use or at server start,
stopped at server shutdown."""

from __future__ import annotations

import threading

from lorapilot.context import Context
from lorapilot.controlpilot.events import EventHub
from lorapilot.controlpilot.monitor import ServiceMonitor
from lorapilot.tasks import TaskManager

_TASK_EVENT_MIN_GAP_S = 0.25  # progress callbacks may fire thousands of times a second


class Runtime:
    def __init__(self, ctx: Context, tasks: TaskManager):
        self.ctx = ctx
        self.tasks = tasks
        self.hub = EventHub()
        self.monitor = ServiceMonitor(ctx, self.hub)
        self._lock = threading.Lock()
        self._task_thread: threading.Thread | None = None

    def start_watchers(self) -> None:
        """Start whatever is not running yet (idempotent)."""
        self.monitor.ensure_running()
        with self._lock:
            if self._task_thread is None and not self.hub.closed.is_set():
                self._task_thread = threading.Thread(target=self._bridge_tasks, name="controlpilot-tasks", daemon=True)
                self._task_thread.start()

    def _bridge_tasks(self) -> None:
        """Publish the task list on the event stream whenever a task changes."""
        seen = self.tasks.version
        while not self.hub.closed.is_set():
            version = self.tasks.wait_for_change(seen, timeout=5)
            if version == seen:
                continue
            seen = version
            self.hub.publish("tasks", {"tasks": [t.to_dict() for t in self.tasks.list()]}, sticky=True)
            self.hub.closed.wait(_TASK_EVENT_MIN_GAP_S)

    def shutdown(self) -> None:
        self.monitor.stop()
        self.hub.close()

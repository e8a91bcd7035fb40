"""The live parts of one ControlPilot app: event hub, service watcher, telemetry
sampler (with its 24 h history) and the task-progress bridge. Started at server
start (or on first use), stopped at server shutdown."""

from __future__ import annotations

import threading

from lorapilot.controlpilot.events import EventHub
from lorapilot.controlpilot.monitor import ServiceMonitor
from lorapilot.controlpilot.telemetry import GpuReader, MetricHistory, SystemSnapshot, take_snapshot
from lorapilot.controlpilot.telemetry.metric_history import compact
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.context import Context

_TASK_EVENT_MIN_GAP_S = 0.25  # progress callbacks may fire thousands of times a second


class Runtime:
    def __init__(self, ctx: Context, tasks: TaskManager):
        self.ctx = ctx
        self.tasks = tasks
        self.hub = EventHub()
        self.monitor = ServiceMonitor(ctx, self.hub)
        self.telemetry_interval_s = ctx.settings.controlpilot.telemetry_interval_s
        self.history = MetricHistory(self.telemetry_interval_s)
        self.gpus = GpuReader()
        self._latest: SystemSnapshot | None = None
        self._lock = threading.Lock()
        # One sample at a time: a slow read started before `gpus` changed must not land after a newer one.
        self._sample_lock = threading.Lock()
        self._task_thread: threading.Thread | None = None
        self._sampler: threading.Thread | None = None

    def start_watchers(self) -> None:
        """Start whatever is not running yet (idempotent)."""
        self.monitor.ensure_running()
        with self._lock:
            if self.hub.closed.is_set():
                return
            if self._task_thread is None:
                self._task_thread = threading.Thread(target=self._bridge_tasks, name="controlpilot-tasks", daemon=True)
                self._task_thread.start()
            if self._sampler is None:
                self._sampler = threading.Thread(
                    target=self._sample_forever, name="controlpilot-telemetry", daemon=True
                )
                self._sampler.start()

    # -- telemetry -------------------------------------------------------------
    def sample(self) -> SystemSnapshot:
        """Read the system now, keep it in the history, publish it as a ``system`` event."""
        with self._sample_lock:
            snap = take_snapshot(self.ctx.workspace.root, self.gpus, self.monitor.pid_owners())
            self._latest = snap
            self.history.add(compact(snap))
            self.hub.publish("system", snap.model_dump(), sticky=True)
        return snap

    def latest_system(self) -> SystemSnapshot:
        """The latest sample (taken now when there is none yet)."""
        self.start_watchers()
        return self._latest or self.sample()

    def _sample_forever(self) -> None:
        while not self.hub.closed.is_set():
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - telemetry must never stop for one bad read
                import traceback

                traceback.print_exc()
            self.hub.closed.wait(self.telemetry_interval_s)

    def _bridge_tasks(self) -> None:
        """Publish the task list on the event stream now (a page then knows it needs no
        polling of its own), and again whenever a task changes."""
        seen = self.tasks.version
        self._publish_tasks()
        while not self.hub.closed.is_set():
            version = self.tasks.wait_for_change(seen, timeout=5)
            if version == seen:
                continue
            seen = version
            self._publish_tasks()
            self.hub.closed.wait(_TASK_EVENT_MIN_GAP_S)

    def _publish_tasks(self) -> None:
        self.hub.publish("tasks", {"tasks": [t.to_dict() for t in self.tasks.list()]}, sticky=True)

    def shutdown(self) -> None:
        self.monitor.stop()
        self.hub.close()

"""A background watcher of the services, so the API answers from memory.

Asking the process manager (XML-RPC, readiness probes, process memory) takes
tens to hundreds of milliseconds; the dashboard and ``GET /api/services`` read
the latest snapshot instead, and every change is pushed on the event stream.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.controlpilot.events import EventHub
from lorapilot.kit.errors import LorapilotError, ServiceError
from lorapilot.stack.context import Context
from lorapilot.stack.plan import ProcessPlan
from lorapilot.stack.services import ManagerInfo, ServiceManager, ServiceStatus, manager_for
from lorapilot.stack.services.base import merge_status

# Fields whose change is worth an event at once; uptime and memory ride along every FULL_EVERY_S.
_KEY_FIELDS = ("state", "ready", "pid", "restarts", "exit_code", "installed")
FULL_EVERY_S = 10.0


@dataclass
class Snapshot:
    """The services as last seen."""

    backend: str | None
    running: bool
    message: str | None
    services: list[ServiceStatus]
    updated_at: float = field(default_factory=time.time)
    rendered: dict[str, bytes] = field(default_factory=dict, repr=False)  # response body per host

    def key(self) -> tuple:
        return (
            self.backend,
            self.running,
            self.message,
            tuple(tuple(getattr(s, f) for f in _KEY_FIELDS) for s in self.services),
        )

    def to_event(self) -> dict:
        return {
            "backend": self.backend,
            "running": self.running,
            "message": self.message,
            "updated_at": self.updated_at,
            "services": [s.model_dump() for s in self.services],
        }


class ServiceMonitor:
    """Polls the process manager while someone is watching; idles otherwise."""

    def __init__(self, ctx: Context, hub: EventHub, interval_s: float = 1.0, idle_stop_s: float = 60.0):
        self.ctx = ctx
        self.hub = hub
        self.interval_s = interval_s
        self.idle_stop_s = idle_stop_s
        self._plans: list[ProcessPlan] | None = None
        self._manager: tuple[ManagerInfo, ServiceManager] | None = None
        self._snapshot: Snapshot | None = None
        self._last_event = 0.0
        self._last_wanted = time.monotonic()
        self._refresh_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the process manager --------------------------------------------------
    def plans(self) -> list[ProcessPlan]:
        if self._plans is None:
            self._plans = self.ctx.plan()
        return self._plans

    def invalidate(self) -> None:
        """Plan again at the next look (after an install: the component is there now)."""
        self._plans = None
        self._manager = None

    def _installs_changed(self) -> bool:
        """Whether a component that was missing is there now (`lorapilot install` from a terminal, or
        the dashboard's Install): one stat per missing component, so every poll can ask."""
        plans = self._plans
        if plans is None:
            return False
        return any(not p.installed and p.missing and Path(p.missing).exists() for p in plans)

    def manager(self) -> ServiceManager:
        """The manager that runs this workspace; :class:`ServiceError` when none does."""
        info = ManagerInfo.load(self.ctx.workspace)
        if info is None:
            raise ServiceError(
                f"LoRA Pilot is not running in {self.ctx.workspace.root}; "
                f"start it with `lorapilot up --workspace {self.ctx.workspace.root}`"
            )
        cached = self._manager
        if cached is None or cached[0] != info:
            if cached is not None:  # a new `lorapilot up`: ports or components may have changed
                self._plans = None
            cached = (info, manager_for(self.ctx, info, self.plans()))
            self._manager = cached
        return cached[1]

    def plan(self, name: str) -> ProcessPlan:
        for plan in self.plans():
            if plan.name == name:
                return plan
        raise ServiceError(f"unknown service {name!r}; known: {', '.join(p.name for p in self.plans())}")

    # -- snapshots -----------------------------------------------------------
    def refresh(self) -> Snapshot:
        """Ask the manager now; publish a ``services`` event when something changed."""
        with self._refresh_lock:
            if self._installs_changed():
                self.invalidate()
            try:
                manager = self.manager()
                snap = Snapshot(manager.backend, True, None, manager.status())
            except LorapilotError as exc:
                info = ManagerInfo.load(self.ctx.workspace)
                snap = Snapshot(info.backend if info else None, False, str(exc), merge_status(self.plans(), {}))
            previous = self._snapshot
            self._snapshot = snap
            now = time.monotonic()
            if previous is None or previous.key() != snap.key() or now - self._last_event >= FULL_EVERY_S:
                self._last_event = now
                self.hub.publish("services", snap.to_event(), sticky=True)
            return snap

    def snapshot(self) -> Snapshot:
        """The latest snapshot; keeps the watcher running. Taken now when there is none yet,
        or when the watcher had stopped for lack of watchers (the last one may be old)."""
        self._last_wanted = time.monotonic()
        woke = self.ensure_running()
        snap = self._snapshot
        return snap if snap is not None and not woke else self.refresh()

    def pid_owners(self) -> dict[int, str]:
        """Main pid of each running service -> its name (for GPU process mapping)."""
        snap = self._snapshot
        return {s.pid: s.name for s in snap.services if s.pid} if snap else {}

    def act(self, name: str, verb: str) -> ServiceStatus:
        """start / stop / restart one service, then return its fresh status."""
        manager = self.manager()
        getattr(manager, verb)(name)
        snap = self.refresh()
        self._wake.set()
        return next(s for s in snap.services if s.name == name)

    # -- the watcher thread --------------------------------------------------------
    def ensure_running(self) -> bool:
        """Start the watcher thread unless it runs; True when it was started now."""
        with self._state_lock:
            if self._stop.is_set() or (self._thread is not None and self._thread.is_alive()):
                return False
            self._thread = threading.Thread(target=self._run, name="controlpilot-services", daemon=True)
            self._thread.start()
            return True

    def _idle(self) -> bool:
        return self.hub.subscribers == 0 and time.monotonic() - self._last_wanted > self.idle_stop_s

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the watcher must survive a bad poll
                import traceback

                traceback.print_exc()
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._idle():
                with self._state_lock:
                    if not self._idle():  # someone asked meanwhile: they saw this thread alive
                        continue
                    self._thread = None
                return

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

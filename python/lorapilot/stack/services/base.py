"""One interface to the process manager, whichever backend runs the services."""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil
from pydantic import BaseModel

from lorapilot.kit.errors import ServiceError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.stack.plan import ProcessPlan
from lorapilot.stack.services.restartlog import last_restarts
from lorapilot.stack.workspace.layout import Workspace

Backend = Literal["process-compose", "supervisord"]
State = Literal[
    "running", "starting", "stopping", "stopped", "exited", "failed", "disabled", "not_installed", "unknown"
]


class ServiceStatus(BaseModel):
    """What the dashboard and ``lorapilot status`` show for one component."""

    name: str
    title: str
    category: str
    state: State
    ready: bool | None = None
    pid: int | None = None
    restarts: int = 0
    uptime_s: float | None = None
    memory_bytes: int | None = None
    exit_code: int | None = None
    restart_reason: str | None = None  # why it was last restarted automatically (shown on the dashboard)
    restarted_at: float | None = None
    port: int
    url_path: str
    installed: bool
    install_hint: str | None = None


@dataclass
class RawState:
    """The part of a status a backend knows."""

    state: State
    pid: int | None = None
    ready: bool | None = None
    restarts: int = 0
    uptime_s: float | None = None
    exit_code: int | None = None
    restart_reason: str | None = None  # the backend's own record of its last automatic restart
    restarted_at: float | None = None


@dataclass(frozen=True)
class ManagerInfo:
    """Which backend runs this workspace and where to reach it (``config/generated/manager.json``)."""

    backend: Backend
    port: int

    @staticmethod
    def path(ws: Workspace) -> Path:
        return ws.generated / "manager.json"

    def save(self, ws: Workspace) -> None:
        atomic_write_text(self.path(ws), json.dumps({"backend": self.backend, "port": self.port}) + "\n")

    @classmethod
    def load(cls, ws: Workspace) -> ManagerInfo | None:
        try:
            data = json.loads(cls.path(ws).read_text(encoding="utf-8"))
            return cls(backend=data["backend"], port=int(data["port"]))
        except (FileNotFoundError, KeyError, ValueError, TypeError):
            return None

    @classmethod
    def clear(cls, ws: Workspace) -> None:
        try:
            os.unlink(cls.path(ws))
        except FileNotFoundError:
            pass


def tree_memory(pid: int | None) -> int | None:
    """Resident memory of a process and all its children, in bytes."""
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return None


class ServiceManager(abc.ABC):
    """Start, stop and watch the workspace's services through one backend."""

    backend: str

    def __init__(self, ws: Workspace, plans: list[ProcessPlan]):
        self.ws = ws
        self.plans = {p.name: p for p in plans}

    # -- backend operations -------------------------------------------------
    @abc.abstractmethod
    def raw_states(self) -> dict[str, RawState]:
        """Backend view of every process it knows, by name."""

    @abc.abstractmethod
    def _start(self, name: str) -> None: ...

    @abc.abstractmethod
    def _stop(self, name: str) -> None: ...

    @abc.abstractmethod
    def _restart(self, name: str) -> None: ...

    @abc.abstractmethod
    def logs(self, name: str, tail: int = 200) -> list[str]:
        """The last ``tail`` lines of a service's log."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Stop every service and the manager itself."""

    @abc.abstractmethod
    def alive(self) -> bool:
        """Whether the manager answers."""

    # -- shared behaviour ----------------------------------------------------
    def plan(self, name: str) -> ProcessPlan:
        try:
            return self.plans[name]
        except KeyError:
            raise ServiceError(f"unknown service {name!r}; known: {', '.join(self.plans)}") from None

    def start(self, name: str) -> None:
        plan = self.plan(name)
        if not plan.installed:
            raise ServiceError(f"{name} is not installed ({plan.missing} is missing); run `{plan.install_hint}`")
        self._start(name)

    def stop(self, name: str) -> None:
        self.plan(name)
        self._stop(name)

    def restart(self, name: str) -> None:
        plan = self.plan(name)
        if not plan.installed:
            raise ServiceError(f"{name} is not installed ({plan.missing} is missing); run `{plan.install_hint}`")
        self._restart(name)

    def status(self) -> list[ServiceStatus]:
        """Every component, merged from the plan and the backend."""
        raw = self.raw_states()
        with ThreadPoolExecutor(max_workers=4) as pool:
            memory = dict(zip(raw, pool.map(lambda r: tree_memory(r.pid), raw.values()), strict=True))
        for name, (at, reason) in last_restarts(self.ws).items():  # the watchdog's restarts
            state = raw.get(name)
            if state is not None and (state.restarted_at is None or at >= state.restarted_at):
                state.restart_reason, state.restarted_at = reason, at
        return merge_status(self.plans.values(), raw, memory)


def merge_status(
    plans: Iterable[ProcessPlan], raw: dict[str, RawState], memory: dict[str, int | None] | None = None
) -> list[ServiceStatus]:
    """One :class:`ServiceStatus` per plan; with an empty ``raw`` (no manager
    answering) every installed component shows as ``unknown``."""
    memory = memory or {}
    out = []
    for plan in plans:
        name = plan.name
        state = raw.get(name)
        if not plan.installed:
            state = RawState(state="not_installed")
        elif state is None:
            state = RawState(state="unknown")
        out.append(
            ServiceStatus(
                name=name,
                title=plan.title,
                category=plan.category,
                state=state.state,
                ready=state.ready,
                pid=state.pid,
                restarts=state.restarts,
                uptime_s=state.uptime_s,
                memory_bytes=memory.get(name) if state.pid else None,
                exit_code=state.exit_code,
                restart_reason=state.restart_reason,
                restarted_at=state.restarted_at,
                port=plan.port,
                url_path=plan.url_path,
                installed=plan.installed,
                install_hint=plan.install_hint,
            )
        )
    return out

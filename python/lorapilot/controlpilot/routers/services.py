"""``/api/services``: list, start/stop/restart, logs and live log streams."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from lorapilot.controlpilot.deps import get_hub, get_monitor, get_tasks
from lorapilot.controlpilot.events import KEEPALIVE_S, EventHub, sse
from lorapilot.controlpilot.monitor import ServiceMonitor, Snapshot
from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.logtail import read_from, tail_and_offset, tail_lines
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.services import ServiceStatus

router = APIRouter(prefix="/api/services", tags=["services"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_FOLLOW_PERIOD_S = 0.25


class ServiceView(ServiceStatus):
    url: str | None  # where a browser opens the service; None for a task without a port


class ServicesResponse(BaseModel):
    backend: str | None
    running: bool  # whether the process manager answers
    message: str | None  # why not, when it does not
    updated_at: float
    services: list[ServiceView]


class LogsResponse(BaseModel):
    name: str
    lines: list[str]


def _view(status: ServiceStatus, host: str) -> ServiceView:
    url = f"http://{host}:{status.port}{status.url_path}" if status.port else None
    return ServiceView(**status.__dict__, url=url)


def _host(request: Request) -> str:
    host = request.url.hostname or "localhost"
    return f"[{host}]" if ":" in host else host


def _render(snap: Snapshot, host: str) -> bytes:
    body = ServicesResponse(
        backend=snap.backend,
        running=snap.running,
        message=snap.message,
        updated_at=snap.updated_at,
        services=[_view(s, host) for s in snap.services],
    )
    return body.model_dump_json().encode()


@router.get("", response_model=ServicesResponse)
async def list_services(request: Request, monitor: ServiceMonitor = Depends(get_monitor)) -> Response:
    """Every component: state, readiness, restarts, uptime, pid, memory, port, URL, installed.

    Answered from the watcher's latest snapshot (at most ~1 s old), serialised once per
    snapshot and host: the dashboard's hottest call costs no process-manager round trip
    (and, being ``async`` with nothing blocking, no thread-pool hop either).
    """
    snap = monitor.snapshot()
    host = _host(request)
    body = snap.rendered.get(host)
    if body is None:
        body = _render(snap, host)
        if len(snap.rendered) < 8:  # the Host header is the client's: keep the cache small
            snap.rendered[host] = body
    return Response(body, media_type="application/json")


class InstallStarted(BaseModel):
    task_id: str
    kind: str  # "install:NAME": its progress arrives as `tasks` events


@router.post("/{name}/install", status_code=202)
def install_service(
    name: str, monitor: ServiceMonitor = Depends(get_monitor), tasks: TaskManager = Depends(get_tasks)
) -> InstallStarted:
    """Install a component from its pins (what `lorapilot install NAME` does) as a background task.

    Refused at once (unknown name, git/uv/npm missing, one already running); when it ends, the
    service list is planned again, so its card turns installed without a restart.
    """
    from lorapilot.kit.errors import ConflictError
    from lorapilot.stack.install import install, prepare_install

    monitor.plan(name)  # a service of this workspace
    kind = f"install:{name}"
    if any(t.state in ("queued", "running") for t in tasks.list(kind)):
        raise ConflictError(f"{name} is being installed already")
    prepared = prepare_install(monitor.ctx, name)

    def work(progress, cancel):
        try:
            return install(monitor.ctx, name, progress=progress, cancel=cancel, prepared=prepared).done
        finally:
            monitor.invalidate()
            monitor.refresh()

    task = tasks.submit(kind, f"Install {monitor.plan(name).title}", work, total=len(prepared.steps))
    return InstallStarted(task_id=task.id, kind=kind)


@router.post("/{name}/{action}")
def control(
    name: str,
    action: Literal["start", "stop", "restart"],
    request: Request,
    monitor: ServiceMonitor = Depends(get_monitor),
) -> ServiceView:
    """Start, stop or restart one service; answers with its new status."""
    return _view(monitor.act(name, action), _host(request))


@router.get("/{name}/logs")
def logs(
    name: str, tail: int = Query(200, ge=0, le=10_000), monitor: ServiceMonitor = Depends(get_monitor)
) -> LogsResponse:
    """The last ``tail`` lines of a service's log."""
    plan = monitor.plan(name)
    try:
        lines = monitor.manager().logs(name, tail)
    except LorapilotError:  # the manager is down: its log file is still there
        lines = tail_lines(plan.log_file, tail)
    return LogsResponse(name=name, lines=lines)


@router.get("/{name}/logs/stream", response_class=StreamingResponse)
async def stream_logs(
    name: str,
    request: Request,
    tail: int = Query(200, ge=0, le=10_000),
    monitor: ServiceMonitor = Depends(get_monitor),
    hub: EventHub = Depends(get_hub),
) -> StreamingResponse:
    """Server-Sent Events: ``lines`` events with the last ``tail`` lines, then each new line."""
    path = monitor.plan(name).log_file

    async def follow():
        # The tail and the offset to follow from come from one read: no line is lost or
        # repeated in between, and a line still being written arrives whole, later.
        initial, offset = await asyncio.to_thread(tail_and_offset, path, tail)
        yield "retry: 2000\n\n"
        yield sse("lines", {"lines": initial, "initial": True})
        idle = 0.0
        while not hub.closed.is_set():
            lines, offset = await asyncio.to_thread(read_from, path, offset)
            if lines:
                idle = 0.0
                yield sse("lines", {"lines": lines})
                continue
            await asyncio.sleep(_FOLLOW_PERIOD_S)
            idle += _FOLLOW_PERIOD_S
            if idle >= KEEPALIVE_S:
                idle = 0.0
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n"

    return StreamingResponse(follow(), media_type="text/event-stream", headers=SSE_HEADERS)

"""``/api/sync``: the dashboard's sync control (status, push, pull as tasks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.apideps import get_ctx, get_tasks
from lorapilot.stack.context import Context

router = APIRouter(prefix="/api/sync", tags=["sync"])
LAST_FILE = "sync-last.json"


class SyncStatus(BaseModel):
    configured: bool
    problem: str | None = None
    endpoint_url: str
    bucket: str
    prefix: str
    areas: list[str]
    last: dict | None = None  # the last report (direction, transferred, skipped, bytes, finished_at)


class SyncTask(BaseModel):
    id: str
    kind: str
    title: str
    state: str
    current: float = 0
    total: float | None = None
    message: str = ""
    error: str | None = None
    result: Any = None


@router.get("")
def status(ctx: Context = Depends(get_ctx)) -> SyncStatus:
    """Whether sync is set up (never the keys) and how the last run went."""
    import json

    from lorapilot.tools.sync.engine import SECRET_KEYS, credentials

    settings = ctx.settings.sync
    creds = credentials(ctx.workspace)
    problem = None
    if not settings.bucket:
        problem = "set [sync] bucket in config/lorapilot.toml"
    elif not all(creds.get(k) for k in SECRET_KEYS):
        problem = "set SYNC_ACCESS_KEY_ID and SYNC_SECRET_ACCESS_KEY with `lorapilot secrets set`"
    try:
        last = json.loads((ctx.workspace.cache / LAST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last = None
    return SyncStatus(
        configured=problem is None,
        problem=problem,
        endpoint_url=settings.endpoint_url,
        bucket=settings.bucket,
        prefix=settings.prefix,
        areas=settings.areas,
        last=last,
    )


def _start(direction: str, ctx: Context, tasks: TaskManager) -> SyncTask:
    import json
    import time

    from lorapilot.tools.sync.engine import Syncer, credentials

    syncer = Syncer(ctx.workspace, ctx.settings.sync, credentials(ctx.workspace))  # a missing setting fails now

    def work(progress, cancel):
        report = getattr(syncer, direction)(progress=progress, cancel=cancel).to_dict()
        report["finished_at"] = time.time()
        atomic_write_text(ctx.workspace.cache / LAST_FILE, json.dumps(report))
        return report

    return SyncTask(**tasks.submit(f"sync.{direction}", f"sync {direction}", work).to_dict())


@router.post("/push", status_code=202)
def push(ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)) -> SyncTask:
    """Start a push; follow it on the task stream."""
    return _start("push", ctx, tasks)


@router.post("/pull", status_code=202)
def pull(ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)) -> SyncTask:
    """Start a pull; follow it on the task stream."""
    return _start("pull", ctx, tasks)

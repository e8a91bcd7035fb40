"""``/api/system``: GPUs, CPU, RAM, cgroup limits, disk; and its history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from lorapilot.controlpilot.deps import get_runtime
from lorapilot.controlpilot.telemetry import SystemSnapshot

router = APIRouter(prefix="/api/system", tags=["system"])


class GpuSeries(BaseModel):
    util: list[float | None]
    vram_used: list[float | None]
    vram_total: list[float | None]


class SystemHistory(BaseModel):
    """Columns of samples, oldest first, averaged into at most ``points`` buckets."""

    interval_s: float
    t: list[float | None]
    cpu: list[float | None]
    ram_used: list[float | None]
    ram_total: list[float | None]
    gpus: list[GpuSeries]


@router.get("")
def system(runtime=Depends(get_runtime)) -> SystemSnapshot:
    """The latest sample. Without a GPU or driver: ``gpus: []`` and ``gpu_reason``."""
    return runtime.latest_system()


@router.get("/history")
def history(
    minutes: float = Query(60, gt=0, le=24 * 60),
    points: int = Query(360, ge=1, le=5000),
    runtime=Depends(get_runtime),
) -> SystemHistory:
    """Up to 24 h of samples, kept in a fixed-size ring buffer."""
    runtime.start_watchers()
    return SystemHistory(**runtime.history.window(minutes, points))

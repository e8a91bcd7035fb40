"""One telemetry snapshot: host + GPUs, as ``GET /api/system`` returns it."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from lorapilot.controlpilot.telemetry.gpu_usage import GpuInfo, GpuReader, GpuReport
from lorapilot.controlpilot.telemetry.host import HostInfo, read_host


class SystemSnapshot(BaseModel):
    time: float
    host: HostInfo
    gpus: list[GpuInfo]
    gpu_reason: str | None = None  # why there are no GPUs
    driver_version: str | None = None
    driver_warning: str | None = None  # the host driver is older than the CUDA stack needs


def take_snapshot(workspace_root: Path, gpus: GpuReader, owners: dict[int, str] | None = None) -> SystemSnapshot:
    """Read everything now. Never raises for a missing GPU or driver."""
    try:
        report = gpus.read(owners)
    except Exception as exc:  # noqa: BLE001 - /api/system answers with a reason, never a 500
        report = GpuReport(gpus=[], reason=f"could not read the GPUs: {exc or type(exc).__name__}")
    return SystemSnapshot(
        time=time.time(),
        host=read_host(workspace_root),
        gpus=report.gpus,
        gpu_reason=report.reason,
        driver_version=report.driver_version,
        driver_warning=report.driver_warning,
    )

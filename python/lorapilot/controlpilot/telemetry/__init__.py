"""System telemetry: GPUs (NVML), CPU, RAM, cgroup limits, disk, and a 24 h history."""

from lorapilot.controlpilot.telemetry.gpu_usage import GpuInfo, GpuProcess, GpuReader, GpuReport
from lorapilot.controlpilot.telemetry.host import CgroupInfo, DiskInfo, HostInfo, read_host
from lorapilot.controlpilot.telemetry.metric_history import MetricHistory
from lorapilot.controlpilot.telemetry.snapshot import SystemSnapshot, take_snapshot

__all__ = [
    "CgroupInfo",
    "DiskInfo",
    "GpuInfo",
    "GpuProcess",
    "GpuReader",
    "GpuReport",
    "MetricHistory",
    "HostInfo",
    "SystemSnapshot",
    "read_host",
    "take_snapshot",
]

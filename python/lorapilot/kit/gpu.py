"""GPU memory and utilisation through NVML for the training queue, and GPU process -> service mapping."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


def owner_of(pid: int, owners: dict[int, str]) -> str | None:
    """The component whose main process is ``pid`` or one of its ancestors (``owners``: pid -> name)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        chain = [proc, *proc.parents()]
    except psutil.Error:
        return owners.get(pid)
    for p in chain:
        if p.pid in owners:
            return owners[p.pid]
    return None


@dataclass
class GpuMemory:
    """One GPU's memory now, and which processes hold how much of it."""

    index: int
    total_bytes: int
    free_bytes: int
    processes: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, used bytes or None)


def gpu_memory(index: int, nvml=None) -> GpuMemory | None:
    """Memory of GPU ``index`` through NVML; None without driver, library or that GPU.

    ``nvml`` stands in for pynvml (tests).
    """
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError:
            return None
    try:
        nvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver: NVML raises several kinds
        return None
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        info = nvml.nvmlDeviceGetMemoryInfo(handle)
        procs: dict[int, int | None] = {}
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            try:
                for p in getattr(nvml, getter)(handle):
                    used = getattr(p, "usedGpuMemory", None)
                    procs[int(p.pid)] = (
                        (procs.get(int(p.pid)) or 0) + used if used is not None else procs.get(int(p.pid))
                    )
            except Exception:  # noqa: BLE001 - "Not Supported" on some cards
                continue
        return GpuMemory(
            index=index, total_bytes=int(info.total), free_bytes=int(info.free), processes=sorted(procs.items())
        )
    except Exception:  # noqa: BLE001 - a GPU that fell off the bus, an index out of range
        return None
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def gpu_utilization(nvml=None) -> float | None:
    """The highest utilisation (%) of any NVIDIA GPU now; None without driver or GPU."""
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError:
            return None
    try:
        nvml.nvmlInit()
    except Exception:  # noqa: BLE001
        return None
    try:
        rates = [
            nvml.nvmlDeviceGetUtilizationRates(nvml.nvmlDeviceGetHandleByIndex(i)).gpu
            for i in range(nvml.nvmlDeviceGetCount())
        ]
        return float(max(rates)) if rates else None
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass

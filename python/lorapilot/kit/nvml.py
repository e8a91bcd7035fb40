"""The one NVML (nvidia-ml-py) probe: open NVML, count GPUs, explain why there are none.

Every GPU question in LoRA Pilot starts here: rendering (ComfyUI's ``--cpu``), TrainPilot's GPU
slots and its check of free memory before a job, the driver check, and ControlPilot's GPU telemetry
(which keeps NVML open between reads).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class NvmlUnavailable(Exception):
    """NVML cannot be used here; ``str(exc)`` says why in words a user can act on."""


def explain(exc: BaseException) -> str:
    """A short, actionable reason for an NVML failure (missing library, driver not loaded, ...)."""
    text = str(exc) or type(exc).__name__
    if "Shared Library Not Found" in text or "libnvidia-ml" in text:
        return "no NVIDIA driver: libnvidia-ml.so was not found"
    if "Driver Not Loaded" in text:
        return "the NVIDIA driver is not loaded (no GPU, or the container was started without GPU access)"
    if "Insufficient Permissions" in text or "No Permission" in text:
        return "no permission to read the GPU (NVML: insufficient permissions)"
    return f"NVML: {text}"


def open_nvml(nvml: Any = None) -> Any:
    """Initialise NVML and return the module (``pynvml`` unless ``nvml`` is given, as tests do).

    Raises :class:`NvmlUnavailable` with a reason; the caller owns the ``nvmlShutdown()``.
    """
    try:
        if nvml is None:
            import pynvml

            nvml = pynvml
        nvml.nvmlInit()
    except ImportError as exc:
        raise NvmlUnavailable("nvidia-ml-py is not installed") from exc
    except Exception as exc:  # noqa: BLE001 - NVMLError subclasses, or an odd driver state
        raise NvmlUnavailable(explain(exc)) from exc
    return nvml


@contextlib.contextmanager
def nvml_session(nvml: Any = None) -> Iterator[Any]:
    """NVML opened for one question: yields the module, or None where NVML cannot be used; shut down after."""
    try:
        lib = open_nvml(nvml)
    except NvmlUnavailable:
        yield None
        return
    try:
        yield lib
    finally:
        try:
            lib.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def gpu_count(nvml: Any = None) -> int:
    """How many NVIDIA GPUs NVML sees now; 0 without library, driver or GPU (never raises)."""
    with nvml_session(nvml) as lib:
        try:
            count = lib.nvmlDeviceGetCount() if lib is not None else 0
        except Exception:  # noqa: BLE001 - NVML raises several kinds
            return 0
    return count if isinstance(count, int) and count > 0 else 0


@functools.cache
def gpu_available() -> bool:
    """True when NVML finds at least one NVIDIA GPU (asked once per process)."""
    return gpu_count() > 0


def largest_gpu_memory_gib(nvml: Any = None) -> float | None:
    """The memory of the largest NVIDIA GPU here, in GiB; None without driver or GPU.

    ``nvml`` stands in for pynvml (tests); not cached, so a test or a driver change is seen.
    """
    with nvml_session(nvml) as lib:
        if lib is None:
            return None
        try:
            sizes = [
                lib.nvmlDeviceGetMemoryInfo(lib.nvmlDeviceGetHandleByIndex(i)).total
                for i in range(lib.nvmlDeviceGetCount())
            ]
        except Exception:  # noqa: BLE001 - NVML raises several kinds
            return None
    return max(sizes) / 1024**3 if sizes else None


def driver_version(nvml: Any = None) -> str | None:
    """The host's NVIDIA driver version (e.g. "535.104.05"), or None without NVML or driver."""
    with nvml_session(nvml) as lib:
        if lib is None:
            return None
        try:
            version = lib.nvmlSystemGetDriverVersion()
        except Exception:  # noqa: BLE001
            return None
    return version.decode() if isinstance(version, bytes) else str(version)


@dataclass
class GpuMemory:
    """One GPU's memory now, and which processes hold how much of it."""

    index: int
    total_bytes: int
    free_bytes: int
    processes: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, used bytes or None)


def gpu_memory(index: int, nvml: Any = None) -> GpuMemory | None:
    """Memory of GPU ``index``; None without driver, library or that GPU. ``nvml`` stands in for pynvml."""
    with nvml_session(nvml) as lib:
        if lib is None:
            return None
        try:
            handle = lib.nvmlDeviceGetHandleByIndex(index)
            info = lib.nvmlDeviceGetMemoryInfo(handle)
        except Exception:  # noqa: BLE001 - a GPU that fell off the bus, an index out of range
            return None
        procs: dict[int, int | None] = {}
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            try:
                running = getattr(lib, getter)(handle)
            except Exception:  # noqa: BLE001 - "Not Supported" on some cards
                continue
            for p in running:
                used = getattr(p, "usedGpuMemory", None)
                known = procs.get(int(p.pid))
                procs[int(p.pid)] = (known or 0) + used if used is not None else known
        return GpuMemory(
            index=index, total_bytes=int(info.total), free_bytes=int(info.free), processes=sorted(procs.items())
        )


def gpu_utilization(nvml: Any = None) -> float | None:
    """The highest utilisation (%) of any NVIDIA GPU now; None without driver or GPU."""
    with nvml_session(nvml) as lib:
        if lib is None:
            return None
        try:
            rates = [
                lib.nvmlDeviceGetUtilizationRates(lib.nvmlDeviceGetHandleByIndex(i)).gpu
                for i in range(lib.nvmlDeviceGetCount())
            ]
        except Exception:  # noqa: BLE001
            return None
    return float(max(rates)) if rates else None


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

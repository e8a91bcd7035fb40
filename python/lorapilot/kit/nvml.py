"""The one NVML (nvidia-ml-py) probe: open NVML, count GPUs, explain why there are none.

Every GPU question in LoRA Pilot starts here: rendering (ComfyUI's ``--cpu``), TrainPilot's GPU
slots, and ControlPilot's GPU telemetry (which keeps NVML open between reads).
"""

from __future__ import annotations

import functools
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


def gpu_count(nvml: Any = None) -> int:
    """How many NVIDIA GPUs NVML sees now; 0 without library, driver or GPU (never raises)."""
    try:
        lib = open_nvml(nvml)
    except NvmlUnavailable:
        return 0
    try:
        count = lib.nvmlDeviceGetCount()
    except Exception:  # noqa: BLE001 - NVML raises several kinds
        return 0
    finally:
        try:
            lib.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass
    return count if isinstance(count, int) and count > 0 else 0


@functools.cache
def gpu_available() -> bool:
    """True when NVML finds at least one NVIDIA GPU (asked once per process)."""
    return gpu_count() > 0


def largest_gpu_memory_gib(nvml: Any = None) -> float | None:
    """The memory of the largest NVIDIA GPU here, in GiB; None without driver or GPU.

    ``nvml`` stands in for pynvml (tests); not cached, so a test or a driver change is seen.
    """
    try:
        lib = open_nvml(nvml)
    except NvmlUnavailable:
        return None
    try:
        sizes = [
            lib.nvmlDeviceGetMemoryInfo(lib.nvmlDeviceGetHandleByIndex(i)).total
            for i in range(lib.nvmlDeviceGetCount())
        ]
    except Exception:  # noqa: BLE001 - NVML raises several kinds
        return None
    finally:
        try:
            lib.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass
    return max(sizes) / 1024**3 if sizes else None

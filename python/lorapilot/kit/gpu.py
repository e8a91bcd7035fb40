"""Cheap GPU presence check used when rendering (e.g. ComfyUI's ``--cpu``)."""

from __future__ import annotations

import functools


@functools.cache
def gpu_available() -> bool:
    """True when NVML finds at least one NVIDIA GPU; False without driver or GPU."""
    try:
        import pynvml
    except ImportError:
        return False
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    try:
        return pynvml.nvmlDeviceGetCount() > 0
    except pynvml.NVMLError:
        return False
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass


def largest_gpu_memory_gib(nvml=None) -> float | None:
    """The memory of the largest NVIDIA GPU here, in GiB; None without driver or GPU.

    ``nvml`` stands in for pynvml (tests); not cached, so a test or a driver change is seen.
    """
    if nvml is None:
        try:
            import pynvml as nvml
        except ImportError:
            return None
    try:
        nvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver, no library: NVML raises several kinds
        return None
    try:
        sizes = [nvml.nvmlDeviceGetMemoryInfo(nvml.nvmlDeviceGetHandleByIndex(i)).total
                 for i in range(nvml.nvmlDeviceGetCount())]
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass
    return max(sizes) / 1024**3 if sizes else None

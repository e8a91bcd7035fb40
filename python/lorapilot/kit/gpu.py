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

"""NVIDIA GPUs through NVML (nvidia-ml-py): utilisation, memory, temperature, power,
and the processes using each GPU, mapped to the component that owns them.

Without a driver or a GPU the report is empty with a reason; no call here raises.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

import psutil
from pydantic import BaseModel

from lorapilot.kit.nvml import (
    NvmlUnavailable,
    explain,
    open_nvml,
    owner_of,  # noqa: F401 - re-exported: the queue maps GPU processes the same way
)
from lorapilot.stack.cudastack import CudaStack, driver_warning, load_cuda_stack

_RETRY_INIT_S = 60.0  # a driver may appear later (e.g. a container started before it)


class GpuProcess(BaseModel):
    pid: int
    name: str | None = None  # the executable, when the pid is visible here
    used_memory_bytes: int | None = None
    component: str | None = None  # the LoRA Pilot service that owns the process


class GpuInfo(BaseModel):
    index: int
    name: str
    uuid: str | None = None
    utilization_pct: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    processes: list[GpuProcess] = []


class GpuReport(BaseModel):
    gpus: list[GpuInfo]
    reason: str | None = None  # why ``gpus`` is empty
    driver_version: str | None = None
    driver_warning: str | None = None  # the driver is older than the shared CUDA stack needs


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class GpuReader:
    """Reads every GPU; keeps NVML initialised between reads.

    ``nvml`` defaults to the ``pynvml`` module of nvidia-ml-py (tests may pass another).
    """

    def __init__(self, nvml=None, stack: CudaStack | None = None):
        self._nvml = nvml
        self._stack = stack
        self._driver: str | None = None
        self._ready = False
        self._reason: str | None = None
        self._next_try = 0.0
        self._lock = threading.Lock()

    def _init(self) -> bool:
        if self._ready:
            return True
        if time.monotonic() < self._next_try:
            return False
        self._next_try = time.monotonic() + _RETRY_INIT_S
        try:
            self._nvml = open_nvml(self._nvml)
        except NvmlUnavailable as exc:
            self._reason = str(exc)
            return False
        self._ready = True
        self._reason = None
        self._driver = _driver_version(self._nvml)
        if self._stack is None:
            self._stack = _default_stack()
        return True

    def read(self, owners: dict[int, str] | None = None) -> GpuReport:
        """Every GPU now; ``owners`` maps service pids to component names."""
        owners = owners or {}
        with self._lock:
            if not self._init():
                return GpuReport(gpus=[], reason=self._reason)
            nvml = self._nvml
            try:
                count = nvml.nvmlDeviceGetCount()
            except Exception as exc:  # noqa: BLE001
                self._ready = False
                return GpuReport(gpus=[], reason=explain(exc))
            if count == 0:
                return GpuReport(gpus=[], reason="the NVIDIA driver reports no GPU")
            gpus = [self._device(i, owners) for i in range(count)]
            warning = driver_warning(self._driver, self._stack) if self._stack else None
            return GpuReport(
                gpus=[g for g in gpus if g is not None], driver_version=self._driver, driver_warning=warning
            )

    def _device(self, index: int, owners: dict[int, str]) -> GpuInfo | None:
        nvml = self._nvml
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
        except Exception:  # noqa: BLE001 - a GPU that fell off the bus
            return None

        def safe(call: Callable, *args):
            try:
                return call(handle, *args)
            except Exception:  # noqa: BLE001 - metric not supported on this GPU
                return None

        util = safe(nvml.nvmlDeviceGetUtilizationRates)
        memory = safe(nvml.nvmlDeviceGetMemoryInfo)
        temp = safe(nvml.nvmlDeviceGetTemperature, getattr(nvml, "NVML_TEMPERATURE_GPU", 0))
        power = safe(nvml.nvmlDeviceGetPowerUsage)
        limit = safe(nvml.nvmlDeviceGetEnforcedPowerLimit)
        name = safe(nvml.nvmlDeviceGetName)
        uuid = safe(nvml.nvmlDeviceGetUUID)
        procs: dict[int, GpuProcess] = {}
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            for p in safe(getattr(nvml, getter)) or []:
                pid = getattr(p, "pid", None)
                if not isinstance(pid, int) or pid in procs:
                    continue
                used = _number(p, "usedGpuMemory")
                if used is None or used < 0 or used >= 2**63:  # NVML_VALUE_NOT_AVAILABLE
                    used = None
                procs[pid] = GpuProcess(
                    pid=pid, used_memory_bytes=used, name=_proc_name(pid), component=owner_of(pid, owners)
                )
        power, limit = _number(power), _number(limit)
        used, total, temp, gpu_util = (
            _number(memory, "used"),
            _number(memory, "total"),
            _number(temp),
            _number(util, "gpu"),
        )
        return GpuInfo(
            index=index,
            name=_text(name) if name is not None else f"GPU {index}",
            uuid=_text(uuid) if uuid is not None else None,
            utilization_pct=float(gpu_util) if gpu_util is not None else None,
            memory_used_bytes=int(used) if used is not None else None,
            memory_total_bytes=int(total) if total is not None else None,
            temperature_c=float(temp) if temp is not None else None,
            power_w=power / 1000 if power is not None else None,
            power_limit_w=limit / 1000 if limit is not None else None,
            processes=sorted(procs.values(), key=lambda p: -(p.used_memory_bytes or 0)),
        )


def _number(value, attr: str | None = None) -> int | float | None:
    """``value`` (or its ``attr``) when it is a number: a driver that answers in an odd shape
    loses that one metric, not the whole report."""
    if attr is not None:
        value = getattr(value, attr, None)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@functools.cache
def _default_stack() -> CudaStack | None:
    try:
        return load_cuda_stack()
    except Exception:  # noqa: BLE001 - no stack file (e.g. a bare wheel): no driver judgement
        return None


def _driver_version(nvml) -> str | None:
    try:
        return _text(nvml.nvmlSystemGetDriverVersion())
    except Exception:  # noqa: BLE001 - an NVML without the call: no driver judgement
        return None


def _proc_name(pid: int) -> str | None:
    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        return None  # e.g. a pid from another PID namespace

"""A stand-in for pynvml (nvidia-ml-py) with one GPU, for machines without one."""

from __future__ import annotations

from types import SimpleNamespace


class FakeNvml:
    """A stand-in for pynvml with one GPU (this machine has none): it checks our
    conversion of NVML's units and the pid -> component mapping, not NVML itself."""

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, pids, fail_init=None, driver="550.54.15"):
        self.pids = pids
        self.driver = driver  # what nvmlSystemGetDriverVersion answers
        self.fail_init = fail_init
        self.utilization = 87  # a test may change it between reads

    def nvmlInit(self):
        if self.fail_init:
            raise self.fail_init

    def nvmlShutdown(self):
        pass

    def nvmlSystemGetDriverVersion(self):
        return self.driver

    def nvmlDeviceGetCount(self):
        return 1

    def nvmlDeviceGetHandleByIndex(self, i):
        return f"h{i}"

    def nvmlDeviceGetName(self, h):
        return b"NVIDIA Test GPU"

    def nvmlDeviceGetUUID(self, h):
        return "GPU-1234"

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=self.utilization, memory=40)

    def nvmlDeviceGetMemoryInfo(self, h):
        return SimpleNamespace(used=6 * 1024**3, total=24 * 1024**3, free=18 * 1024**3)

    def nvmlDeviceGetTemperature(self, h, sensor):
        return 71

    def nvmlDeviceGetPowerUsage(self, h):
        return 250_500  # milliwatts

    def nvmlDeviceGetEnforcedPowerLimit(self, h):
        raise RuntimeError("Not Supported")

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in self.pids]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h):
        return []

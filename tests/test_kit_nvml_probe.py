"""One NVML probe (``lorapilot.kit.nvml``) for rendering, TrainPilot's GPU slots and ControlPilot's telemetry.

No NVIDIA GPU here: the probe runs against the real ``pynvml`` (which finds no driver) and against
objects shaped like it to cover the answers a driver gives."""

from __future__ import annotations

import pytest

from lorapilot.controlpilot.telemetry.gpu_usage import GpuReader
from lorapilot.kit.nvml import NvmlUnavailable, explain, gpu_count, open_nvml
from lorapilot.tools.trainpilot.worker import gpu_slots
from support.workspaces import make_workspace


class Driver:
    """Answers like pynvml: ``count`` GPUs, or ``fail`` raised from nvmlInit."""

    def __init__(self, count: int = 0, fail: Exception | None = None):
        self.count, self.fail, self.shutdowns = count, fail, 0

    def nvmlInit(self):
        if self.fail:
            raise self.fail

    def nvmlDeviceGetCount(self):
        return self.count

    def nvmlShutdown(self):
        self.shutdowns += 1


def test_gpu_count_opens_and_closes_nvml():
    driver = Driver(count=2)
    assert gpu_count(driver) == 2 and driver.shutdowns == 1


@pytest.mark.parametrize("fail", [RuntimeError("Driver Not Loaded"), OSError("libnvidia-ml.so.1: cannot open")])
def test_no_driver_is_zero_gpus_and_a_reason(fail):
    assert gpu_count(Driver(fail=fail)) == 0
    with pytest.raises(NvmlUnavailable) as caught:
        open_nvml(Driver(fail=fail))
    assert str(caught.value) == explain(fail)
    # ControlPilot's telemetry reports the same reason.
    assert GpuReader(Driver(fail=fail)).read().reason == explain(fail)


def test_trainpilot_slots_are_the_gpus_the_probe_counts(tmp_path):
    count = gpu_count()  # the real pynvml: 0 on a machine without a driver
    assert gpu_slots(make_workspace(tmp_path / "ws")) == ([str(i) for i in range(count)] or ["cpu"])

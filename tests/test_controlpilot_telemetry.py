"""Telemetry: no GPU answers gpus: [] with a reason; cgroup limits; a bounded 24 h history."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

from lorapilot.controlpilot.telemetry import GpuReader, MetricHistory
from lorapilot.controlpilot.telemetry.host import read_cgroup
from lorapilot.controlpilot.telemetry.metric_history import MAX_RETENTION_S
from support.api import make_client
from support.fake_nvml import FakeNvml


def test_system_without_a_gpu_answers_empty_gpus_and_a_reason(ctx):
    client = make_client(ctx)
    resp = client.get("/api/system")
    assert resp.status_code == 200
    body = resp.json()
    assert body["gpus"] == []
    assert body["gpu_reason"]  # e.g. "no NVIDIA driver: libnvidia-ml.so was not found"
    host = body["host"]
    assert host["memory_total_bytes"] > host["memory_used_bytes"] > 0
    assert host["cpu_count"] >= 1 and 0 <= host["cpu_percent"] <= 100 * host["cpu_count"]
    assert host["disk"]["path"] == str(ctx.workspace.root)
    assert host["disk"]["total_bytes"] >= host["disk"]["free_bytes"] > 0


def test_history_endpoint_returns_columns_and_refuses_more_than_a_day(ctx):
    client = make_client(ctx)
    runtime = client.app.state.runtime
    for _ in range(3):
        runtime.sample()
    body = client.get("/api/system/history", params={"minutes": 10}).json()
    assert len(body["t"]) == len(body["cpu"]) == len(body["ram_used"]) >= 3
    assert body["t"] == sorted(body["t"])
    assert body["gpus"] == []
    assert client.get("/api/system/history", params={"minutes": 24 * 60 + 1}).status_code == 422


def test_history_memory_is_bounded_by_the_retention_window():
    history = MetricHistory(interval_s=5)
    assert history.capacity == MAX_RETENTION_S // 5 + 1
    for i in range(history.capacity * 3):
        history.add((float(i * 5), 10.0, 1000 + i, 4000, ((50.0, 100 + i, 800),)))
    assert len(history) == history.capacity
    day = history.window(24 * 60, max_points=500)
    assert len(day["t"]) == 500
    assert day["t"][0] >= (history.capacity * 2) * 5 - 1  # the oldest samples are gone
    hour = history.window(60, max_points=10_000)
    assert len(hour["t"]) == 60 * 60 // 5 + 1
    assert hour["gpus"][0]["vram_total"][0] == 800
    assert MetricHistory(interval_s=1, retention_s=7 * 24 * 3600).capacity == MAX_RETENTION_S + 1


def test_cgroup_v2_limits_are_read_from_the_process_cgroup_and_its_parents(tmp_path):
    mount = tmp_path / "cgroup"
    leaf = mount / "kubepods" / "pod1"
    leaf.mkdir(parents=True)
    (mount / "cgroup.controllers").write_text("cpu memory")
    (mount / "kubepods" / "memory.max").write_text("8589934592\n")
    (leaf / "memory.max").write_text("max\n")
    (leaf / "memory.current").write_text("1048576\n")
    (leaf / "cpu.max").write_text("250000 100000\n")
    proc = tmp_path / "cgroup-self"
    proc.write_text("0::/kubepods/pod1\n")
    info = read_cgroup(mount, proc)
    assert info.version == 2
    assert info.memory_limit_bytes == 8 * 1024**3
    assert info.memory_used_bytes == 1048576
    assert info.cpu_limit_cores == 2.5


def test_cgroup_v1_unlimited_values_mean_no_limit(tmp_path):
    mount = tmp_path / "cgroup"
    (mount / "memory" / "docker" / "abc").mkdir(parents=True)
    (mount / "cpu").mkdir()
    (mount / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (mount / "memory" / "docker" / "abc" / "memory.limit_in_bytes").write_text("2147483648\n")
    (mount / "memory" / "docker" / "abc" / "memory.usage_in_bytes").write_text("1000\n")
    (mount / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (mount / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "cgroup-self"
    proc.write_text("4:memory:/docker/abc\n1:cpu,cpuacct:/\n")
    info = read_cgroup(mount, proc)
    assert (info.version, info.memory_limit_bytes, info.memory_used_bytes, info.cpu_limit_cores) == (
        1,
        2147483648,
        1000,
        None,
    )


def test_no_cgroup_mount_is_not_an_error(tmp_path):
    assert read_cgroup(tmp_path / "none", tmp_path / "none-self").version is None


def test_gpu_processes_are_mapped_to_the_service_that_owns_them():
    # A real child process stands for a trainer's worker: its parent (us) is the service.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        nvml = FakeNvml(pids=[(child.pid, 3 * 1024**3), (999_999_999, None)])
        report = GpuReader(nvml).read(owners={os.getpid(): "kohya"})
    finally:
        child.kill()
        child.wait()
    assert report.reason is None
    gpu = report.gpus[0]
    assert (gpu.name, gpu.uuid, gpu.utilization_pct, gpu.temperature_c) == ("NVIDIA Test GPU", "GPU-1234", 87.0, 71.0)
    assert (gpu.memory_used_bytes, gpu.memory_total_bytes) == (6 * 1024**3, 24 * 1024**3)
    assert gpu.power_w == 250.5 and gpu.power_limit_w is None  # unsupported metric: None, not an error
    by_pid = {p.pid: p for p in gpu.processes}
    assert by_pid[child.pid].component == "kohya" and by_pid[child.pid].used_memory_bytes == 3 * 1024**3
    assert by_pid[999_999_999].component is None and by_pid[999_999_999].name is None


def test_a_failing_driver_gives_a_reason_not_an_exception():
    class NVMLError(Exception):
        pass

    report = GpuReader(FakeNvml([], fail_init=NVMLError("Driver Not Loaded"))).read()
    assert report.gpus == [] and "driver is not loaded" in report.reason


class _OddNvml(FakeNvml):
    """A driver that answers, but with shapes NVML should never return."""

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        return [object(), SimpleNamespace(pid=os.getpid(), usedGpuMemory="lots")]

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace()  # no .gpu


class _CrashingReader(GpuReader):
    def read(self, owners=None):
        raise RuntimeError("segfault-ish driver state")


def test_an_odd_or_crashing_gpu_driver_still_answers_the_api(ctx):
    client = make_client(ctx)
    runtime = client.app.state.runtime
    runtime.gpus = GpuReader(_OddNvml([]))
    resp = client.get("/api/system")
    assert resp.status_code == 200, resp.text
    gpu = resp.json()["gpus"][0]
    assert gpu["name"] == "NVIDIA Test GPU" and gpu["utilization_pct"] is None
    assert [(p["pid"], p["used_memory_bytes"]) for p in gpu["processes"]] == [(os.getpid(), None)]
    runtime.gpus = _CrashingReader()
    runtime.sample()
    body = client.get("/api/system").json()
    assert body["gpus"] == [] and "segfault-ish driver state" in body["gpu_reason"]


def test_a_garbled_cgroup_file_means_no_limit_not_an_error(tmp_path):
    mount = tmp_path / "cgroup"
    mount.mkdir()
    (mount / "cgroup.controllers").write_text("cpu memory")
    (mount / "memory.max").write_text("lots\n")
    (mount / "cpu.max").write_text("fast 100000\n")
    proc = tmp_path / "cgroup-self"
    proc.write_text("0::/\n")
    info = read_cgroup(mount, proc)
    assert (info.version, info.memory_limit_bytes, info.cpu_limit_cores) == (2, None, None)

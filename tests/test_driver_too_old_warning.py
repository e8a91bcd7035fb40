"""A host NVIDIA driver older than the shared CUDA stack needs is named, with both versions,
by `lorapilot up` and by ControlPilot's /api/system (the dashboard's banner).

This machine has no GPU: NVML is the stand-in of support.fake_nvml, installed as the
`pynvml` module of the real processes through PYTHONPATH.
"""

from __future__ import annotations

import os
import textwrap

import httpx
import pytest

from lorapilot.controlpilot.telemetry import GpuReader
from lorapilot.kit.errors import ConfigError
from lorapilot.stack.cudastack import driver_is_older, driver_warning, host_driver_warning, load_cuda_stack
from support.fake_nvml import FakeNvml
from support.running import running, wait_for
from support.workspaces import REPO_ROOT, make_workspace

STACK = load_cuda_stack(REPO_ROOT / "components")
OLD_DRIVER = "470.57.02"  # CUDA 11.4's driver: too old for any CUDA 12 build
NEW_DRIVER = "550.54.15"


def test_the_stack_file_is_the_one_the_locks_use():
    assert STACK.torch == "2.9.1" and STACK.cuda == "12.8" and STACK.python == "3.11"
    assert STACK.min_driver == "525.60.13"


@pytest.mark.parametrize(
    ("driver", "needed", "older"),
    [
        ("470.57.02", "525.60.13", True),
        ("525.60.13", "525.60.13", False),
        ("525.60.2", "525.60.13", True),
        ("535.104.05", "525.60.13", False),
        ("580", "525.60.13", False),
        ("525", "525.60.13", True),
    ],
)
def test_driver_versions_compare_by_number_not_text(driver, needed, older):
    assert driver_is_older(driver, needed) is older


def test_the_warning_names_both_versions_and_the_stack():
    warning = driver_warning(OLD_DRIVER, STACK)
    assert OLD_DRIVER in warning and STACK.min_driver in warning
    assert "torch 2.9.1" in warning and "CUDA 12.8" in warning
    assert driver_warning(NEW_DRIVER, STACK) is None
    assert driver_warning(None, STACK) is None  # no driver: the no-GPU path reports that instead


def test_host_check_reads_nvml_and_stays_quiet_without_a_driver():
    assert OLD_DRIVER in host_driver_warning(FakeNvml(pids=[], driver=OLD_DRIVER), REPO_ROOT / "components")
    assert host_driver_warning(FakeNvml(pids=[], driver=NEW_DRIVER), REPO_ROOT / "components") is None
    assert (
        host_driver_warning(FakeNvml(pids=[], fail_init=RuntimeError("Driver Not Loaded")), REPO_ROOT / "components")
        is None
    )


def test_a_bad_stack_file_names_the_file_and_field(tmp_path):
    (tmp_path / "stack.toml").write_text(
        'python = "3.11"\ncuda = "12.8"\nmin-driver = "new"\n[pins]\ntorch = "2.9.1"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_cuda_stack(tmp_path)
    assert "stack.toml" in str(err.value) and "min-driver" in str(err.value) and "'new'" in str(err.value)


def test_gpu_report_carries_the_driver_and_its_warning():
    report = GpuReader(FakeNvml(pids=[], driver=OLD_DRIVER), stack=STACK).read()
    assert report.driver_version == OLD_DRIVER
    assert OLD_DRIVER in report.driver_warning and STACK.min_driver in report.driver_warning
    fine = GpuReader(FakeNvml(pids=[], driver=NEW_DRIVER), stack=STACK).read()
    assert fine.driver_version == NEW_DRIVER and fine.driver_warning is None


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_up_and_the_dashboard_api_warn_about_an_old_driver(tmp_path, monkeypatch):
    fake = tmp_path / "fake-nvml"
    fake.mkdir()
    (fake / "pynvml.py").write_text(
        textwrap.dedent(f"""
        # The NVML stand-in as the pynvml module: this machine has no NVIDIA driver.
        import sys
        sys.path.insert(0, {str(REPO_ROOT / "tests")!r})
        from support.fake_nvml import FakeNvml
        sys.modules[__name__] = FakeNvml(pids=[], driver={OLD_DRIVER!r})
    """)
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(fake), os.environ.get("PYTHONPATH")])))
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    with running(ctx) as up:
        assert f"warning: NVIDIA driver {OLD_DRIVER} is older than {STACK.min_driver}" in up.stderr
        port = ctx.registry.get("controlpilot").port
        system = wait_for(lambda: _system(port), what="ControlPilot's /api/system")
        assert system["driver_version"] == OLD_DRIVER
        assert OLD_DRIVER in system["driver_warning"] and STACK.min_driver in system["driver_warning"]


def _system(port: int):
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/api/system", timeout=5)
    except httpx.HTTPError:
        return None
    return reply.json() if reply.status_code == 200 else None

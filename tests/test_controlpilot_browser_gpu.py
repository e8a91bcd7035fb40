"""Headless Chromium: the dashboard's live GPU and VRAM graphs.

This machine has no GPU, so the server reads a stand-in for NVML (support.fake_nvml);
everything after the NVML calls is real: sampler thread, ``system`` events over SSE,
the React graphs. The no-GPU path is covered by test_controlpilot_browser_services.py.
"""

from __future__ import annotations

import os

import pytest

from lorapilot.controlpilot.telemetry import GpuReader
from lorapilot.stack.cudastack import load_cuda_stack
from support.browser import browser_page, live_controlpilot, login
from support.fake_nvml import FakeNvml
from support.workspaces import REPO_ROOT, make_workspace

pytestmark = pytest.mark.browser

_POINTS = (
    "el => (el.querySelector('polyline')?.getAttribute('points') || '').trim().split(/\\s+/).filter(Boolean).length"
)


def test_dashboard_draws_live_gpu_and_vram_graphs(tmp_path, output_dir):
    ctx = make_workspace(tmp_path / "ws", settings={"controlpilot": {"telemetry_interval_s": 1}})
    nvml = FakeNvml(pids=[(os.getpid(), 3 * 1024**3)])
    with live_controlpilot(ctx) as server, browser_page() as page:
        runtime = server.app.state.runtime
        runtime.gpus = GpuReader(nvml)
        # The GPU process belongs to a service (the mapping itself is tested with real processes).
        runtime.monitor.pid_owners = lambda: {os.getpid(): "kohya"}
        login(page, server)

        gpu = page.get_by_test_id("gpu-0")
        gpu.wait_for()
        assert gpu.get_by_role("heading").inner_text() == "GPU 0: NVIDIA Test GPU"
        assert gpu.get_by_label("VRAM: 6.0 GiB / 24.0 GiB").is_visible()
        assert gpu.get_by_label("GPU: 87%").is_visible()
        assert "71 °C · 251 W" in gpu.inner_text()
        procs = gpu.locator(".gpu-procs li")
        assert procs.count() == 1 and procs.first.inner_text().split() == ["kohya", "3.0", "GiB"]
        assert page.get_by_test_id("no-gpu").count() == 0

        # Live: a new utilisation reaches the page without a reload, and the graph grows.
        graph = gpu.get_by_label("GPU: ", exact=False)
        before = graph.evaluate(_POINTS)
        nvml.utilization = 12
        gpu.get_by_label("GPU: 12%").wait_for()
        page.wait_for_function(f"([el, n]) => ({_POINTS})(el) > n", arg=[graph.element_handle(), before])
        page.screenshot(path=output_dir / "dashboard-gpu.png", full_page=True)


def test_dashboard_warns_when_the_host_driver_is_older_than_the_stack(tmp_path):
    ctx = make_workspace(tmp_path / "ws", settings={"controlpilot": {"telemetry_interval_s": 1}})
    stack = load_cuda_stack(REPO_ROOT / "components")
    with live_controlpilot(ctx) as server, browser_page() as page:
        server.app.state.runtime.gpus = GpuReader(FakeNvml(pids=[], driver="470.57.02"), stack=stack)
        login(page, server)
        banner = page.get_by_test_id("driver-warning")
        banner.wait_for()
        text = banner.inner_text()
        assert "470.57.02" in text and stack.min_driver in text and f"torch {stack.torch}" in text
        assert page.get_by_test_id("gpu-0").is_visible()  # the GPU is still shown

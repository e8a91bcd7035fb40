"""The new-training flow starts from what is here: the base models' family, an installed trainer, the
GPU's tier, or the CPU preset when there is no GPU (this machine has none; a stand-in NVML has one)."""

from __future__ import annotations

import re

import pytest

from lorapilot.tools.trainpilot.defaults import flow_defaults
from support.fake_nvml import FakeNvml
from support.trainpilot import make_train_workspace


def test_a_cpu_machine_with_an_sd1_model_starts_on_sd15_native_cpu_preset(tmp_path):
    ctx = make_train_workspace(tmp_path)  # one SD1.x checkpoint; every trainer looks installed
    d = flow_defaults(ctx)
    assert (d.family, d.trainer, d.quality, d.vram_gb, d.cpu) == ("sd15", "native", "quick", 8, True)
    assert any("no NVIDIA GPU found" in r for r in d.reasons)
    assert any("Stable Diffusion 1.5: the family of 1 of the 1 base models" in r for r in d.reasons)


def test_a_24_gb_gpu_starts_on_its_tier_with_the_first_installed_trainer(tmp_path):
    ctx = make_train_workspace(tmp_path)
    d = flow_defaults(ctx, nvml=FakeNvml(pids=[]))  # one 24 GiB card
    assert (d.family, d.trainer, d.quality, d.vram_gb, d.cpu) == ("sd15", "kohya", "regular", 24, False)
    assert d.gpu_memory_gib == 24


def test_the_api_answers_the_defaults(tmp_path):
    from support.api import make_client

    ctx = make_train_workspace(tmp_path)
    with make_client(ctx) as client:
        body = client.get("/api/train/defaults").json()
    assert body["family"] == "sd15" and body["cpu"] is True and body["reasons"]


@pytest.mark.browser
def test_the_flow_opens_on_the_defaults(tmp_path, output_dir):
    from support.browser import browser_page, live_controlpilot, login

    ctx = make_train_workspace(tmp_path)
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/train/new?dataset=cats")
        base = page.get_by_label("Choose a base model")
        base.get_by_role("button", name=re.compile(r"sd15-base\.safetensors")).wait_for()  # listed: the family is SD1.5
        assert base.get_by_label("Family").input_value() == "sd15"
        base.get_by_role("button", name=re.compile(r"sd15-base\.safetensors")).click()
        base.get_by_role("button", name="Next").click()
        preset = page.get_by_label("Choose a preset")
        preset.get_by_test_id("defaults-why").get_by_text("No GPU found: starting from the CPU preset.").wait_for()
        assert preset.get_by_label("Trainer").input_value() == "native"
        assert preset.get_by_label("GPU memory").input_value() == "8"
        assert preset.get_by_label("quick").is_checked()
        page.screenshot(path=output_dir / "new-training-defaults.png", full_page=True)
        assert page.console_errors == []

"""The queue with the real native trainer on CPU: a tiny SD1 pipeline built in the test, a profile
from a preset, stop-and-save, resume with the step count continuing, and the LoRA in models/loras.

Runs where the native trainer and its tiny-model helpers are present (tests/support/tiny_sd.py)."""

from __future__ import annotations

import json
import time

import pytest

from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.worker import QueueWorker
from support.workspaces import make_workspace

pytest.importorskip("lorapilot.tools.trainpilot.native.trainer", reason="the native trainer is not in this tree yet")
tiny_sd = pytest.importorskip("support.tiny_sd", reason="tests/support/tiny_sd.py (native trainer tests) is missing")
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_native_trainer_through_the_queue(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"}, settings={"trainpilot": {"poll_interval_s": 0.2}})
    root = ctx.workspace.root
    tiny_sd.build_tiny_sd1(root / "models" / "diffusers" / "tiny-sd1")
    tiny_sd.make_dataset(root / "datasets" / "shapes")
    profile = build_profile(
        name="tiny-shapes",
        family="sd15",
        quality="quick",
        vram_gb=8,
        trainer="native",
        model=ModelRef(base="diffusers/tiny-sd1"),
        dataset_name="shapes",
        dataset=inspect_dataset(ctx.workspace, "shapes"),
    )
    # Tiny-model sizes, CPU settings.
    tiny_sd.shrink_profile(profile, steps=24, save_every=8, sample_every=12, sample_steps=3)
    profile.optim.optimizer, profile.optim.lr_scheduler, profile.optim.min_snr_gamma = "adamw", "constant", None
    profile.training.mixed_precision, profile.training.gradient_checkpointing = "no", False
    job, warnings = actions.submit(ctx, profile)
    assert [w.level for w in warnings] == []

    worker = QueueWorker(ctx)
    stopped_at = None
    deadline = time.monotonic() + 600
    while True:
        assert time.monotonic() < deadline, "the native job did not finish"
        worker.tick()
        current = actions.list_jobs(ctx)[0]
        if current.state == "running" and (current.step or 0) >= 6 and stopped_at is None:
            actions.cancel(ctx, job.id, "save")
            stopped_at = -1
        if current.state == "cancelled":
            assert "stopped on request after saving at step" in current.error
            stopped_at = int(current.error.split("at step ")[1].split(";")[0])
            actions.resume(ctx, job.id)
        if current.state in ("done", "failed"):
            break
        time.sleep(0.2)
    worker.release()

    assert current.state == "done", current.error or current.log_tail
    assert (current.step, current.total, current.attempts) == (24, 24, 2) and stopped_at and stopped_at > 0
    log = current.log_path.read_text()
    resumed = log[log.index("attempt 2: resume") :]
    assert f"[trainpilot] step={stopped_at + 1} total=24" in resumed and "[trainpilot] step=1 total" not in resumed
    detail = actions.job_detail(ctx, job.id)
    assert [s["step"] for s in detail["samples"]] == [12, 24]
    assert [p["step"] for p in detail["points"]] == list(range(1, 25))
    lora = root / "models" / "loras" / "tiny-shapes.safetensors"
    card = json.loads((root / "models" / "loras" / "tiny-shapes.training.json").read_text())
    assert lora.is_file() and card["steps"] == 24 and card["dataset"]["images"] == 8
    from safetensors import safe_open

    with safe_open(str(lora), "pt") as fh:
        assert fh.metadata()["ss_network_dim"] == "4" and fh.metadata()["ss_network_alpha"] == "8.0"
        assert any(k.startswith("lora_unet_") and k.endswith(".alpha") for k in fh.keys())

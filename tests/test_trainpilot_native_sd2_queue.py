"""An SD 2.x (v-prediction) LoRA through the queue with the real native trainer on CPU: a tiny pipeline
built in the test whose scheduler predicts v, a profile from the sd2 preset, and the kohya file's v2 metadata."""

from __future__ import annotations

import json

import pytest

from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.validate import validate_profile
from support.trainpilot import run_queue_to_the_end
from support.workspaces import make_workspace

pytest.importorskip("lorapilot.tools.trainpilot.native.trainer", reason="the native trainer is not in this tree")
tiny_sd = pytest.importorskip("support.tiny_sd", reason="tests/support/tiny_sd.py is missing")
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_a_v_prediction_sd2_lora_through_the_queue(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"}, settings={"trainpilot": {"poll_interval_s": 0.2}})
    root = ctx.workspace.root
    model = tiny_sd.build_tiny_sd1(root / "models" / "diffusers" / "tiny-sd2v")
    scheduler = model / "scheduler" / "scheduler_config.json"
    scheduler.write_text(json.dumps({**json.loads(scheduler.read_text()), "prediction_type": "v_prediction"}))
    tiny_sd.make_dataset(root / "datasets" / "shapes")
    profile = build_profile(
        name="tiny-sd2",
        family="sd2",
        quality="quick",
        vram_gb=8,
        trainer="native",
        model=ModelRef(base="diffusers/tiny-sd2v"),
        dataset_name="shapes",
        dataset=inspect_dataset(ctx.workspace, "shapes"),
    )
    assert profile.model.v_prediction  # the sd2 preset assumes a 768-v base
    tiny_sd.shrink_profile(profile, steps=6, save_every=6, sample_every=6, sample_steps=2)
    profile.optim.optimizer, profile.optim.lr_scheduler, profile.optim.min_snr_gamma = "adamw", "constant", 5.0
    profile.training.mixed_precision, profile.training.gradient_checkpointing = "no", False
    # The tiny UNet attends to 32-wide states, so the store cannot call it SD 2.x: that is only a warning.
    assert [i.field for i in validate_profile(ctx, profile) if i.level == "error"] == []
    profile.model.v_prediction = False
    assert "predicts v_prediction" in next(
        i.message for i in validate_profile(ctx, profile) if i.field == "model.v_prediction"
    )
    profile.model.v_prediction = True
    job, _ = actions.submit(ctx, profile)

    current = run_queue_to_the_end(ctx)

    assert current.state == "done", current.error or current.log_tail
    assert (current.step, current.total) == (6, 6)
    from safetensors import safe_open

    with safe_open(str(root / "models" / "loras" / "tiny-sd2.safetensors"), "pt") as fh:
        meta = fh.metadata()
    assert meta["ss_v2"] == "True" and meta["ss_base_model_version"] == "sd_v2_v"
    assert meta["modelspec.prediction_type"] == "v" and meta["modelspec.architecture"].startswith(
        "stable-diffusion-v2-768-v"
    )

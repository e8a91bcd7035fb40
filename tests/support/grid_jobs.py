"""A finished native training job on the tiny SD1 model, for the test-grid tests (trains for real on CPU)."""

from __future__ import annotations

import time

from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.worker import QueueWorker
from support import tiny_sd
from support.workspaces import make_workspace


def trained_job(
    root, settings: dict | None = None, enabled=("controlpilot",), prompts=("tok, red, square", "tok, blue, stripe")
):
    """(ctx, job, worker) after a 4-step native run saving at step 2 (checkpoints: step 2, final)."""
    trainpilot = {"poll_interval_s": 0.2, "grid_after_training": "auto", **(settings or {})}
    ctx = make_workspace(root, enabled=set(enabled), settings={"trainpilot": trainpilot})
    ws = ctx.workspace.root
    tiny_sd.build_tiny_sd1(ws / "models" / "diffusers" / "tiny-sd1")
    tiny_sd.make_dataset(ws / "datasets" / "shapes")
    profile = build_profile(
        name="tiny-grid",
        family="sd15",
        quality="quick",
        vram_gb=8,
        trainer="native",
        model=ModelRef(base="diffusers/tiny-sd1"),
        dataset_name="shapes",
        dataset=inspect_dataset(ctx.workspace, "shapes"),
    )
    tiny_sd.shrink_profile(profile, steps=4, save_every=2, sample_every=100, sample_steps=2)
    profile.sample.prompts = list(prompts)
    profile.optim.learning_rate = 5e-2  # a visible LoRA after four steps
    profile.optim.optimizer, profile.optim.lr_scheduler, profile.optim.min_snr_gamma = "adamw", "constant", None
    profile.training.mixed_precision, profile.training.gradient_checkpointing = "no", False
    job, _ = actions.submit(ctx, profile)
    worker = QueueWorker(ctx)
    deadline = time.monotonic() + 600
    while True:
        assert time.monotonic() < deadline, "the native job did not finish"
        worker.tick()
        current = actions.list_jobs(ctx)[0]
        if current.state in ("done", "failed", "cancelled"):
            break
        time.sleep(0.2)
    worker.release()
    assert current.state == "done", current.error or current.log_tail
    return ctx, current, worker

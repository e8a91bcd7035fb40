"""FLUX.1 through the queue with the real native trainer on CPU: a tiny FLUX.1 diffusers folder built in
the test, a profile from the native FLUX.1 preset, the run, and a FLUX.1 LoRA with its card in models/loras."""

from __future__ import annotations

import hashlib
import json
import math
import tomllib

import pytest

from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from support import tiny_sd
from support.trainpilot import run_queue_to_the_end
from support.workspaces import make_workspace

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

STEPS = 6


def test_native_flux_lora_through_the_queue(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"}, settings={"trainpilot": {"poll_interval_s": 0.2}})
    root = ctx.workspace.root
    tiny_sd.build_tiny_flux(root / "models" / "diffusers" / "tiny-flux")
    tiny_sd.make_dataset(root / "datasets" / "shapes")
    profile = build_profile(
        name="tiny-flux-shapes",
        family="flux1",
        quality="quick",
        vram_gb=48,
        trainer="native",
        model=ModelRef(base="diffusers/tiny-flux"),
        dataset_name="shapes",
        dataset=inspect_dataset(ctx.workspace, "shapes"),
    )
    # The preset's FLUX.1 choices stay (bf16, gradient checkpointing, AdamW, no text encoders; on a CPU the
    # trainer runs bf16 as float32); only the sizes shrink to the tiny model.
    assert (profile.training.mixed_precision, profile.optim.optimizer, profile.network.train_text_encoder) == (
        "bf16",
        "adamw",
        False,
    )
    tiny_sd.shrink_profile(profile, steps=STEPS, save_every=3, sample_every=STEPS, sample_steps=2)
    job, warnings = actions.submit(ctx, profile)
    assert [(w.field, w.message) for w in warnings] == []

    current = run_queue_to_the_end(ctx)

    assert current.state == "done", current.error or current.log_tail
    assert (current.step, current.total) == (STEPS, STEPS)
    run = tomllib.loads((current.run_path / "run.toml").read_text())
    assert run["model"]["family"] == "flux1" and run["model"]["pretrained"].endswith("models/diffusers/tiny-flux")
    assert run["training"]["mixed_precision"] == "bf16" and run["network"]["train_text_encoder"] is False
    assert "single_transformer_blocks.0.proj_out" in run["network"]["target_modules"]  # the one single block's linear2
    detail = actions.job_detail(ctx, job.id)
    assert [s["step"] for s in detail["samples"]] == [STEPS]
    assert [c["step"] for c in detail["checkpoints"]] == [3]  # the last step writes the final file instead
    assert [p["step"] for p in detail["points"]] == list(range(1, STEPS + 1))
    assert all(math.isfinite(p["loss"]) and p["loss"] > 0 for p in detail["points"])

    lora = root / "models" / "loras" / "tiny-flux-shapes.safetensors"
    card = json.loads((root / "models" / "loras" / "tiny-flux-shapes.training.json").read_text())
    assert card["family"] == "flux1" and card["trainer"] == "native" and card["steps"] == STEPS
    assert card["base_model"] == "diffusers/tiny-flux" and card["dataset"]["images"] == 8
    assert card["sha256"] == hashlib.sha256(lora.read_bytes()).hexdigest()

    from lorapilot.tools.models.inspect import inspect_file, summarize

    summary = summarize(lora)
    assert (summary["kind"], summary["family"], summary["family_label"]) == ("lora", "flux1", "FLUX.1"), summary
    assert summary["lora"]["rank"] == 4 and summary["lora"]["alpha"] == 8.0
    report = inspect_file(lora)
    assert report["metadata"]["ss_network_module"] == "networks.lora_flux"
    assert report["metadata"]["modelspec.architecture"] == "flux-1-dev/lora"
    from safetensors import safe_open

    with safe_open(str(lora), "pt") as fh:
        keys = set(fh.keys())
    # every linear layer of both block kinds, under BFL names, and no text-encoder keys
    for name in (
        "double_blocks_0_img_attn_qkv",
        "double_blocks_0_txt_attn_proj",
        "double_blocks_0_txt_mlp_2",
        "double_blocks_0_img_mod_lin",
        "single_blocks_0_linear1",
        "single_blocks_0_linear2",
        "single_blocks_0_modulation_lin",
    ):
        assert f"lora_unet_{name}.lora_down.weight" in keys, name
    assert not any(k.startswith("lora_te") or "final_layer" in k for k in keys)

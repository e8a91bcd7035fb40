"""The native trainer trains a tiny SD1 LoRA on the CPU and writes a kohya file diffusers loads exactly."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from support.native_runs import (  # noqa: F401  (tiny_sd1 is a fixture)
    base_config,
    events,
    fixed_batch_loss,
    load_sd1,
    run_trainer,
    steps_of,
    tiny_sd1,
    write_config,
)

pytestmark = pytest.mark.slow

STEPS = 32


@pytest.fixture(scope="module")
def trained(tiny_sd1, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("trained")
    config = write_config(
        root / "run.toml",
        base_config(tiny_sd1, root / "out", steps=STEPS),
        logging_dir=str(root / "tb"),
        dataset={"caption_dropout": 0.1},
        optim={"min_snr_gamma": 5.0},
        sample={"prompts": ["tok, red, square", "tok, blue, stripe"], "every_n_steps": 16},
    )
    result = run_trainer(config)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result


def test_progress_lines_count_every_step_to_the_total(trained):
    _, result = trained
    assert steps_of(result.stdout) == list(range(1, STEPS + 1))
    last = [e for e in events(result.stdout) if e["kind"] == "step"][-1]
    assert last["total"] == str(STEPS)
    assert float(last["lr"]) == pytest.approx(1e-2)
    assert float(last["its"]) > 0


def test_loss_on_a_fixed_batch_drops(trained, tiny_sd1):  # noqa: F811
    root, _ = trained
    before = fixed_batch_loss(load_sd1(tiny_sd1.model), tiny_sd1.images)
    after = fixed_batch_loss(load_sd1(tiny_sd1.model, root / "out" / "tiny.safetensors"), tiny_sd1.images)
    assert after < before * 0.95, (before, after)


def test_outputs_follow_the_contract(trained):
    root, result = trained
    out = root / "out"
    found = events(result.stdout)
    checkpoints = [e["path"] for e in found if e["kind"] == "checkpoint"]
    assert checkpoints == [str(out / f"tiny-step{s:08d}.safetensors") for s in (8, 16, 24)]
    samples = [(e["step"], e["path"]) for e in found if e["kind"] == "sample"]
    assert samples == [(str(step), str(out / "samples" / f"{step:06d}_{i}.png")) for step in (16, 32) for i in (0, 1)]
    for _, path in samples:
        from PIL import Image

        with Image.open(path) as img:
            assert img.size == (64, 64)
    assert found[-1] == {"kind": "done", "path": str(out / "tiny.safetensors")}
    # state folders: the newest three (keep_last) remain
    assert sorted(p.name for p in out.glob("state-step*")) == [f"state-step{s:08d}" for s in (16, 24, 32)]
    state = json.loads((out / "state-step00000032" / "trainer_state.json").read_text())
    assert state["step"] == 32 and state["rank"] == 4
    for path in [out / "tiny.safetensors", *map(Path, checkpoints)]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_kohya_keys_alpha_and_metadata(trained):
    root, _ = trained
    path = root / "out" / "tiny.safetensors"
    with safe_open(str(path), "pt") as f:
        keys = set(f.keys())
        meta = f.metadata()
        alphas = {k: f.get_tensor(k) for k in keys if k.endswith(".alpha")}
    assert "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight" in keys
    assert "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_out_0.lora_up.weight" in keys
    assert all(k.startswith("lora_unet_") for k in keys)
    assert alphas and all(float(a) == 8.0 for a in alphas.values())  # alpha 8 with rank 4
    assert meta["ss_network_module"] == "networks.lora"
    assert meta["ss_network_dim"] == "4" and meta["ss_network_alpha"] == "8.0"
    assert meta["ss_base_model_version"] == "sd_v1"
    assert meta["modelspec.architecture"] == "stable-diffusion-v1/lora"
    assert meta["ss_steps"] == str(STEPS)
    assert json.loads(meta["ss_tag_frequency"])["1_images"]["tok"] == 8
    assert len(meta["sshs_model_hash"]) == 64


def test_kohya_file_loads_into_a_fresh_pipeline_like_the_trained_unet(trained, tiny_sd1):  # noqa: F811
    from diffusers import UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import set_peft_model_state_dict

    root, _ = trained
    pipe = load_sd1(tiny_sd1.model, root / "out" / "tiny.safetensors")
    # The trained UNet: the base plus the adapter exactly as the trainer held it (peft layout).
    unet = UNet2DConditionModel.from_pretrained(tiny_sd1.model, subfolder="unet")
    unet.add_adapter(LoraConfig(r=4, lora_alpha=8.0, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    result = set_peft_model_state_dict(unet, load_file(root / "out" / "state-step00000032" / "lora_unet.safetensors"))
    assert not result.unexpected_keys
    base = UNet2DConditionModel.from_pretrained(tiny_sd1.model, subfolder="unet")
    generator = torch.Generator().manual_seed(3)
    sample = torch.randn(2, 4, 8, 8, generator=generator)
    hidden = torch.randn(2, 77, 32, generator=generator)
    timesteps = torch.tensor([20, 700])
    with torch.no_grad():
        loaded = pipe.unet(sample, timesteps, hidden).sample
        trained_out = unet(sample, timesteps, hidden).sample
        base_out = base(sample, timesteps, hidden).sample
    assert (loaded - trained_out).abs().max().item() < 1e-4
    assert (loaded - base_out).abs().max().item() > 1e-2  # the LoRA does change the output


def test_tensorboard_events_are_written(trained):
    root, _ = trained
    event_files = list((root / "tb").rglob("events.out.tfevents.*"))
    assert event_files
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars = {}
    for file in event_files:
        acc = EventAccumulator(str(file))
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            scalars[tag] = [e.step for e in acc.Scalars(tag)]
    assert scalars["loss"] == list(range(1, STEPS + 1))

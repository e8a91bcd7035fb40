"""SDXL: UNet + both text encoders trained; the kohya file (SGM names, lora_te1/lora_te2) loads exactly."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from support.native_runs import ddp_command, events, run_trainer, steps_of, with_trained_adapter, write_config
from support.tiny_sd import TINY_BUCKET_STEP, build_tiny_sdxl, make_dataset
from support.workspaces import free_port

pytestmark = pytest.mark.slow

STEPS = 6
RANK, ALPHA = 4, 2.0  # alpha below rank: scale 0.5 must survive the file


@pytest.fixture(scope="module")
def trained_xl(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdxl")
    model = build_tiny_sdxl(root / "model")
    images = make_dataset(root / "images")
    config = {
        "name": "xl",
        "output_dir": str(root / "out"),
        "model": {"pretrained": str(model), "family": "sdxl"},
        "dataset": {
            "image_dir": str(images),
            "resolution": 64,
            "bucket_step": TINY_BUCKET_STEP,
            "min_bucket": 32,
            "max_bucket": 96,
            "shuffle_tags": True,
            "keep_tokens": 1,
        },
        "network": {"rank": RANK, "alpha": ALPHA, "train_text_encoder": True, "text_encoder_lr": 5e-3},
        "optim": {"learning_rate": 1e-2},
        "training": {"steps": STEPS, "batch_size": 2, "gradient_checkpointing": True},
        "save": {"every_n_steps": 3, "precision": "fp32"},
        "sample": {"prompts": ["tok, red, square"], "every_n_steps": STEPS, "steps": 2},
    }
    result = run_trainer(write_config(root / "run.toml", config))
    assert result.returncode == 0, result.stderr[-3000:]
    return root, model, result, config


def test_sdxl_text_encoder_training_runs_under_two_process_ddp(trained_xl, tmp_path):
    # The first encoder's last layer feeds nothing SDXL uses; DDP must accept its idle adapter.
    _, _, _, config = trained_xl
    config = {**config, "output_dir": str(tmp_path / "out"), "training": {**config["training"], "steps": 2}}
    path = write_config(tmp_path / "run.toml", config, sample={"prompts": []})
    result = run_trainer(path, command=ddp_command(path, free_port()), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert steps_of(result.stdout) == [1, 2]
    assert (tmp_path / "out" / "xl.safetensors").is_file()


def test_sdxl_run_reports_every_step_and_a_sample(trained_xl):
    root, _, result, _ = trained_xl
    assert steps_of(result.stdout) == list(range(1, STEPS + 1))
    assert any(e["kind"] == "sample" for e in events(result.stdout))
    assert (root / "out" / "samples" / f"{STEPS:06d}_0.png").is_file()


def test_sdxl_file_uses_kohya_names_and_metadata(trained_xl):
    root, _, _, _ = trained_xl
    with safe_open(str(root / "out" / "xl.safetensors"), "pt") as f:
        keys = set(f.keys())
        meta = f.metadata()
    downs = {k for k in keys if k.endswith(".lora_down.weight")}
    assert "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight" in downs
    assert "lora_unet_middle_block_1_transformer_blocks_1_attn2_to_k.lora_down.weight" in downs
    assert "lora_unet_output_blocks_0_1_transformer_blocks_0_attn1_to_v.lora_down.weight" in downs
    assert "lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight" in downs
    assert "lora_te2_text_model_encoder_layers_1_self_attn_out_proj.lora_down.weight" in downs
    assert not any("down_blocks" in k or "up_blocks" in k for k in keys)
    assert meta["ss_base_model_version"] == "sdxl_base_v1-0"
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"
    assert meta["ss_text_encoder_lr"] == "0.005"


def _peft_trained(module, state_file, targets):
    return with_trained_adapter(module, state_file, targets, RANK, ALPHA)


def test_sdxl_file_loads_into_a_fresh_pipeline_like_the_trained_models(trained_xl):
    from diffusers import StableDiffusionXLPipeline

    root, model, _, _ = trained_xl
    state = root / "out" / f"state-step{STEPS:08d}"
    pipe = StableDiffusionXLPipeline.from_pretrained(model)
    pipe.load_lora_weights(str(root / "out" / "xl.safetensors"))
    reference = StableDiffusionXLPipeline.from_pretrained(model)
    unet = _peft_trained(reference.unet, state / "lora_unet.safetensors", ["to_q", "to_k", "to_v", "to_out.0"])
    te_targets = ["q_proj", "k_proj", "v_proj", "out_proj"]
    te1 = _peft_trained(reference.text_encoder, state / "lora_te1.safetensors", te_targets)
    te2 = _peft_trained(reference.text_encoder_2, state / "lora_te2.safetensors", te_targets)
    base = StableDiffusionXLPipeline.from_pretrained(model)

    ids = pipe.tokenizer(["tok, red, square"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    generator = torch.Generator().manual_seed(5)
    sample = torch.randn(1, 4, 8, 8, generator=generator)
    hidden = torch.randn(1, 77, 64, generator=generator)
    added = {
        "text_embeds": torch.randn(1, 32, generator=generator),
        "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]]),
    }
    with torch.no_grad():
        for loaded, trained, original in (
            (pipe.text_encoder(ids)[0], te1(ids)[0], base.text_encoder(ids)[0]),
            (pipe.text_encoder_2(ids)[0], te2(ids)[0], base.text_encoder_2(ids)[0]),
            (
                pipe.unet(sample, 300, hidden, added_cond_kwargs=added).sample,
                unet(sample, 300, hidden, added_cond_kwargs=added).sample,
                base.unet(sample, 300, hidden, added_cond_kwargs=added).sample,
            ),
        ):
            assert (loaded - trained).abs().max().item() < 1e-4
            assert (loaded - original).abs().max().item() > 1e-3

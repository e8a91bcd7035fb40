"""SD1 with its text encoder trained: `lora_te_` keys, and diffusers loads UNet and encoder exactly."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from support.native_runs import (  # noqa: F401
    base_config,
    load_sd1,
    run_trainer,
    steps_of,
    tiny_sd1,
    with_trained_adapter,
    write_config,
)

pytestmark = pytest.mark.slow

STEPS = 6
RANK, ALPHA = 4, 2.0  # alpha below rank: scale 0.5 must survive the file
TE_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]
UNET_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]


def _peft_trained(module, state_file, targets):
    return with_trained_adapter(module, state_file, targets, RANK, ALPHA)


def test_sd1_text_encoder_lora_is_written_as_lora_te_and_loads_like_the_trained_encoder(tiny_sd1, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "run.toml",
        base_config(tiny_sd1, out, steps=STEPS),
        network={"rank": RANK, "alpha": ALPHA, "train_text_encoder": True, "text_encoder_lr": 5e-3},
        save={"every_n_steps": STEPS},
    )
    result = run_trainer(config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert steps_of(result.stdout) == list(range(1, STEPS + 1))

    lora = out / "tiny.safetensors"
    with safe_open(str(lora), "pt") as f:
        keys = set(f.keys())
        meta = f.metadata()
        te_alpha = f.get_tensor("lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha")
    assert "lora_te_text_model_encoder_layers_1_self_attn_out_proj.lora_down.weight" in keys
    assert "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight" in keys
    assert {k.split("_", 2)[1] for k in keys} == {"te", "unet"}  # SD1 has one encoder: no lora_te1_/lora_te2_
    assert float(te_alpha) == ALPHA and meta["ss_text_encoder_lr"] == "0.005"

    pipe = load_sd1(tiny_sd1.model, lora)
    reference = load_sd1(tiny_sd1.model)
    state = out / f"state-step{STEPS:08d}"
    encoder = _peft_trained(reference.text_encoder, state / "lora_te1.safetensors", TE_TARGETS)
    unet = _peft_trained(reference.unet, state / "lora_unet.safetensors", UNET_TARGETS)
    base = load_sd1(tiny_sd1.model)

    ids = pipe.tokenizer(["tok, red, square"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    generator = torch.Generator().manual_seed(5)
    sample = torch.randn(1, 4, 8, 8, generator=generator)
    hidden = torch.randn(1, 77, 32, generator=generator)
    with torch.no_grad():
        for loaded, trained, original in (
            (pipe.text_encoder(ids)[0], encoder(ids)[0], base.text_encoder(ids)[0]),
            (
                pipe.unet(sample, 300, hidden).sample,
                unet(sample, 300, hidden).sample,
                base.unet(sample, 300, hidden).sample,
            ),
        ):
            assert (loaded - trained).abs().max().item() < 1e-4
            assert (loaded - original).abs().max().item() > 1e-3  # the LoRA does change the output

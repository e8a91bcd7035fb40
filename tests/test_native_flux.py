"""FLUX.1: the transformer trains with rectified flow; the kohya (BFL-named, fused) LoRA changes weights exactly."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from lorapilot.tools.trainpilot.native import kohya
from support.native_runs import events, run_trainer, steps_of, write_config
from support.tiny_sd import TINY_BUCKET_STEP, build_tiny_flux, make_dataset

pytestmark = pytest.mark.slow

RANK, ALPHA = 4, 8.0
# diffusers' kohya-FLUX loader splits single_blocks_N_linear1 with FLUX.1's real sizes (3072, ...),
# so the loading check trains double-block modules only (to_q etc. would also hit the single
# blocks); the fused-weight test below covers linear1.
DOUBLE_BLOCK_TARGETS = [
    "add_q_proj",
    "add_k_proj",
    "add_v_proj",
    "to_add_out",
    "to_out.0",
    "ff.net.0.proj",
    "norm1.linear",
]


@pytest.fixture(scope="module")
def tiny_flux(tmp_path_factory):
    root = tmp_path_factory.mktemp("flux")
    return build_tiny_flux(root / "model"), make_dataset(root / "images")


def test_flux_trains_samples_and_loads_into_a_fresh_pipeline(tiny_flux, tmp_path):
    from diffusers import FluxPipeline
    from peft import LoraConfig, inject_adapter_in_model
    from peft.utils import set_peft_model_state_dict

    model, images = tiny_flux
    targets = DOUBLE_BLOCK_TARGETS
    config = {
        "name": "fx",
        "output_dir": str(tmp_path / "out"),
        "model": {"pretrained": str(model), "family": "flux1"},
        "dataset": {
            "image_dir": str(images),
            "resolution": 64,
            "bucket_step": TINY_BUCKET_STEP,
            "min_bucket": 32,
            "max_bucket": 96,
        },  # fmt: skip
        "network": {"rank": RANK, "alpha": ALPHA, "target_modules": targets},
        "optim": {"learning_rate": 1e-2},
        "training": {"steps": 6, "batch_size": 2},
        "save": {"every_n_steps": 3, "precision": "fp32"},
        "sample": {"prompts": ["tok, red, square"], "every_n_steps": 6, "steps": 2, "guidance": 3.5},
    }
    result = run_trainer(write_config(tmp_path / "run.toml", config))
    assert result.returncode == 0, result.stderr[-3000:]
    assert steps_of(result.stdout) == list(range(1, 7))
    assert (tmp_path / "out" / "samples" / "000006_0.png").is_file()
    lora = tmp_path / "out" / "fx.safetensors"
    assert events(result.stdout)[-1] == {"kind": "done", "path": str(lora)}
    with safe_open(str(lora), "pt") as f:
        keys, meta = set(f.keys()), f.metadata()
    assert "lora_unet_double_blocks_0_txt_attn_qkv.lora_up.weight" in keys
    assert "lora_unet_double_blocks_0_img_mod_lin.alpha" in keys
    assert meta["ss_network_module"] == "networks.lora_flux"
    assert meta["modelspec.architecture"] == "flux-1-dev/lora"

    pipe = FluxPipeline.from_pretrained(model)
    pipe.load_lora_weights(str(lora))
    reference = FluxPipeline.from_pretrained(model).transformer
    inject_adapter_in_model(LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=targets), reference)
    state = load_file(tmp_path / "out" / "state-step00000006" / "lora_unet.safetensors")
    assert not set_peft_model_state_dict(reference, state).unexpected_keys
    base = FluxPipeline.from_pretrained(model).transformer

    g = torch.Generator().manual_seed(1)
    inputs = {
        "hidden_states": torch.randn(1, 16, 16, generator=g),
        "encoder_hidden_states": torch.randn(1, 8, 32, generator=g),
        "pooled_projections": torch.randn(1, 32, generator=g),
        "timestep": torch.tensor([0.6]),
        "guidance": torch.tensor([3.5]),
        "txt_ids": torch.zeros(8, 3),
        "img_ids": torch.stack(
            torch.meshgrid(torch.zeros(1), torch.arange(4.0), torch.arange(4.0), indexing="ij"), -1
        ).reshape(-1, 3),
    }
    with torch.no_grad():
        loaded = pipe.transformer(**inputs).sample
        trained = reference(**inputs).sample
        original = base(**inputs).sample
    assert (loaded - trained).abs().max().item() < 1e-4
    assert (loaded - original).abs().max().item() > 1e-3


def test_fused_flux_layers_get_exactly_the_parts_updates(tiny_flux):
    """qkv and linear1 (with an untrained part) and the swapped final modulation, checked on weights."""
    from diffusers import FluxTransformer2DModel
    from peft import LoraConfig, inject_adapter_in_model
    from peft.utils import get_peft_model_state_dict

    model, _ = tiny_flux
    transformer = FluxTransformer2DModel.from_pretrained(model, subfolder="transformer")
    targets = ["to_q", "to_k", "to_v", "proj_out", "norm_out.linear", "x_embedder"]  # proj_mlp left out
    inject_adapter_in_model(LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=targets), transformer)
    torch.manual_seed(0)
    for name, param in transformer.named_parameters():
        if "lora_B" in name:
            param.data.normal_()
    peft_state = get_peft_model_state_dict(transformer)

    def out_features(path):
        layer = transformer.get_submodule(path)
        return getattr(layer, "base_layer", layer).out_features

    tensors = kohya.flux_names(peft_state, ALPHA, torch.float32, out_features)

    def delta(kohya_name):
        down, up = tensors[f"{kohya_name}.lora_down.weight"], tensors[f"{kohya_name}.lora_up.weight"]
        return up @ down * tensors[f"{kohya_name}.alpha"].item() / down.shape[0]

    def part(path):
        return peft_state[f"{path}.lora_B.weight"] @ peft_state[f"{path}.lora_A.weight"] * ALPHA / RANK

    img_qkv = torch.cat([part(f"transformer_blocks.0.attn.to_{x}") for x in "qkv"])
    torch.testing.assert_close(delta("lora_unet_double_blocks_0_img_attn_qkv"), img_qkv)
    mlp_rows = out_features("single_transformer_blocks.0.proj_mlp")
    linear1 = torch.cat([part(f"single_transformer_blocks.0.attn.to_{x}") for x in "qkv"] + [torch.zeros(mlp_rows, 32)])
    torch.testing.assert_close(delta("lora_unet_single_blocks_0_linear1"), linear1)
    torch.testing.assert_close(delta("lora_unet_single_blocks_0_linear2"), part("single_transformer_blocks.0.proj_out"))
    torch.testing.assert_close(delta("lora_unet_final_layer_linear"), part("proj_out"))
    torch.testing.assert_close(delta("lora_unet_img_in"), part("x_embedder"))
    scale, shift = part("norm_out.linear").chunk(2)
    torch.testing.assert_close(delta("lora_unet_final_layer_adaLN_modulation_1"), torch.cat([shift, scale]))

"""kohya names for the real SDXL UNet (SGM layout), checked on the full architecture built on the meta device."""

from __future__ import annotations

import pytest
import torch

from lorapilot.tools.trainpilot.native.kohya import clip_text_namer, peft_modules, sgm_unet_namer, to_kohya

SDXL_UNET = dict(
    sample_size=128,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(320, 640, 1280),
    layers_per_block=2,
    cross_attention_dim=2048,
    transformer_layers_per_block=(1, 2, 10),
    attention_head_dim=(5, 10, 20),
    use_linear_projection=True,
    addition_embed_type="text_time",
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
)


@pytest.fixture(scope="module")
def sdxl_unet():
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        return UNet2DConditionModel(**SDXL_UNET)


def _layers(unet):
    return [n for n, m in unet.named_modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]


@pytest.mark.parametrize(
    ("diffusers_path", "sgm_path"),
    [
        (
            "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
            "input_blocks.4.1.transformer_blocks.0.attn1.to_q",
        ),
        ("down_blocks.2.attentions.1.transformer_blocks.9.ff.net.2", "input_blocks.8.1.transformer_blocks.9.ff.net.2"),
        ("mid_block.attentions.0.proj_in", "middle_block.1.proj_in"),
        (
            "up_blocks.0.attentions.2.transformer_blocks.9.attn2.to_v",
            "output_blocks.2.1.transformer_blocks.9.attn2.to_v",
        ),
        ("up_blocks.1.attentions.0.proj_out", "output_blocks.3.1.proj_out"),
        ("up_blocks.0.upsamplers.0.conv", "output_blocks.2.2.conv"),
        ("up_blocks.1.upsamplers.0.conv", "output_blocks.5.2.conv"),
        ("down_blocks.0.downsamplers.0.conv", "input_blocks.3.0.op"),
        ("down_blocks.1.downsamplers.0.conv", "input_blocks.6.0.op"),
        ("down_blocks.0.resnets.1.conv1", "input_blocks.2.0.in_layers.2"),
        ("up_blocks.2.resnets.2.conv_shortcut", "output_blocks.8.0.skip_connection"),
        ("mid_block.resnets.1.time_emb_proj", "middle_block.2.emb_layers.1"),
        ("conv_in", "input_blocks.0.0"),
        ("conv_out", "out.2"),
        ("time_embedding.linear_1", "time_embed.0"),
        ("add_embedding.linear_2", "label_emb.0.2"),
    ],
)
def test_sgm_names_of_known_sdxl_modules(sdxl_unet, diffusers_path, sgm_path):
    assert diffusers_path in _layers(sdxl_unet)
    assert sgm_unet_namer(sdxl_unet.config)(diffusers_path) == sgm_path


def test_every_sdxl_layer_has_one_sgm_name(sdxl_unet):
    layers = _layers(sdxl_unet)
    names = [sgm_unet_namer(sdxl_unet.config)(path) for path in layers]
    assert len(set(names)) == len(layers) > 700


def test_diffusers_maps_the_sgm_attention_names_back_to_their_modules(sdxl_unet):
    from diffusers.loaders.lora_conversion_utils import _maybe_map_sgm_blocks_to_diffusers

    namer = sgm_unet_namer(sdxl_unet.config)
    attention = [p for p in _layers(sdxl_unet) if ".attentions." in p]
    state = {f"lora_unet_{namer(p).replace('.', '_')}.lora_down.weight": torch.zeros(1) for p in attention}
    mapped = _maybe_map_sgm_blocks_to_diffusers(dict(state), sdxl_unet.config)
    back = {
        k.replace("lora_unet_input_blocks_", "lora_unet_down_blocks_")
        .replace("lora_unet_output_blocks_", "lora_unet_up_blocks_")
        .replace("lora_unet_middle_block_", "lora_unet_mid_block_")
        for k in mapped
    }
    assert back == {f"lora_unet_{p.replace('.', '_')}.lora_down.weight" for p in attention}


def test_to_kohya_writes_down_up_and_a_float32_alpha():
    peft_state = {
        "a.to_q.lora_A.weight": torch.ones(4, 8),
        "a.to_q.lora_B.weight": torch.full((16, 4), 2.0),
    }
    out = to_kohya(peft_state, "lora_te1_", alpha=0.3, dtype=torch.float16, namer=clip_text_namer)
    assert set(out) == {
        "lora_te1_text_model_a_to_q.lora_down.weight",
        "lora_te1_text_model_a_to_q.lora_up.weight",
        "lora_te1_text_model_a_to_q.alpha",
    }
    assert out["lora_te1_text_model_a_to_q.lora_down.weight"].dtype == torch.float16
    alpha = out["lora_te1_text_model_a_to_q.alpha"]
    assert alpha.dtype == torch.float32 and alpha.item() == pytest.approx(0.3)


def test_a_lora_without_its_up_half_is_rejected():
    with pytest.raises(ValueError, match="lacks its down or up weight"):
        peft_modules({"a.lora_A.weight": torch.ones(1)})

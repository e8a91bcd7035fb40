"""Build small safetensors files with real key names and scaled-down shapes.

Only the dimensions detection reads are real (the text encoder width in
cross-attention, SDXL's label embedding inputs, FLUX's hidden width, a
LoRA's rank); the rest are shrunk so each file is a few hundred KB.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

_NP = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "U8": np.uint8}


def write_model(path: Path, spec: dict[str, tuple], metadata: dict[str, str] | None = None, seed: int = 0) -> Path:
    """``spec``: name -> (shape,) or (shape, dtype) or (shape, dtype, value)."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, item in spec.items():
        shape = item[0]
        dtype = item[1] if len(item) > 1 else "F16"
        if len(item) > 2:
            tensors[name] = np.full(shape, item[2], dtype=_NP[dtype])
        else:
            tensors[name] = rng.standard_normal(shape).astype(_NP[dtype])
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    path.chmod(0o644)
    return path


def raw_safetensors(path: Path, header: dict, data: bytes = b"", declared_length: int | None = None) -> Path:
    """Write a file byte by byte (for malformed headers the library would refuse to write)."""
    body = json.dumps(header).encode()
    length = len(body) if declared_length is None else declared_length
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", length) + body + data)
    return path


DM = "model.diffusion_model."


def sd1_checkpoint() -> dict:
    return {
        DM + "input_blocks.0.0.weight": ((8, 4, 3, 3),),
        DM + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": ((4, 768),),
        "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": ((16, 768),),
        "first_stage_model.encoder.conv_in.weight": ((8, 3, 3, 3),),
        "first_stage_model.decoder.conv_in.weight": ((8, 4, 3, 3),),
    }


def sd2_checkpoint() -> dict:
    return {
        DM + "input_blocks.0.0.weight": ((8, 4, 3, 3),),
        DM + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": ((4, 1024),),
        "cond_stage_model.model.token_embedding.weight": ((16, 1024),),
        "first_stage_model.decoder.conv_in.weight": ((8, 4, 3, 3),),
    }


def sdxl_checkpoint() -> dict:
    return {
        DM + "input_blocks.0.0.weight": ((8, 4, 3, 3),),
        DM + "label_emb.0.0.weight": ((4, 2816),),
        DM + "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": ((4, 2048),),
        "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight": ((16, 768),),
        "conditioner.embedders.1.model.token_embedding.weight": ((16, 1280),),
        "first_stage_model.decoder.conv_in.weight": ((8, 4, 3, 3),),
    }


def sdxl_refiner_checkpoint() -> dict:
    return {
        DM + "input_blocks.0.0.weight": ((8, 4, 3, 3),),
        DM + "label_emb.0.0.weight": ((4, 2560),),
        "conditioner.embedders.0.model.token_embedding.weight": ((16, 1280),),
    }


def sd3_checkpoint() -> dict:
    return {
        DM + "joint_blocks.0.context_block.attn.qkv.weight": ((12, 8),),
        DM + "x_embedder.proj.weight": ((1536, 16, 2, 2),),
        "text_encoders.clip_l.transformer.text_model.embeddings.token_embedding.weight": ((16, 768),),
    }


def flux_transformer(dev: bool = True) -> dict:
    spec = {
        "double_blocks.0.img_attn.qkv.weight": ((24, 8),),
        "single_blocks.0.linear1.weight": ((8, 8),),
        "img_in.weight": ((8, 64),),
    }
    if dev:
        spec["guidance_in.in_layer.weight"] = ((8, 256),)
    return spec


def kohya_lora_sd1(rank: int = 4, alpha: float = 2.0) -> dict:
    m = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    t = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
    return {
        f"{m}.lora_down.weight": ((rank, 768),),
        f"{m}.lora_up.weight": ((8, rank),),
        f"{m}.alpha": ((), "F32", alpha),
        f"{t}.lora_down.weight": ((rank, 768),),
        f"{t}.lora_up.weight": ((768, rank),),
        f"{t}.alpha": ((), "F32", alpha),
    }


def kohya_lora_sdxl(rank: int = 8, alpha: float = 4.0) -> dict:
    m = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k"
    return {
        f"{m}.lora_down.weight": ((rank, 2048),),
        f"{m}.lora_up.weight": ((8, rank),),
        f"{m}.alpha": ((), "F16", alpha),
        "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": ((rank, 768),),
        "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": ((rank, 1280),),
    }


def kohya_lora_flux(rank: int = 16) -> dict:
    m = "lora_unet_double_blocks_0_img_attn_qkv"
    return {
        f"{m}.lora_down.weight": ((rank, 3072),),
        f"{m}.lora_up.weight": ((16, rank),),
        f"{m}.alpha": ((), "F32", float(rank)),
    }


def peft_lora_flux(rank: int = 8) -> dict:
    return {
        "transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight": ((rank, 3072),),
        "transformer.single_transformer_blocks.0.attn.to_q.lora_B.weight": ((16, rank),),
    }


def loha_sd1(rank: int = 4) -> dict:
    m = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    return {
        f"{m}.hada_w1_a": ((8, rank),),
        f"{m}.hada_w1_b": ((rank, 768),),
        f"{m}.hada_w2_a": ((8, rank),),
        f"{m}.hada_w2_b": ((rank, 768),),
        f"{m}.alpha": ((), "F32", 1.0),
    }


def lokr_sdxl(rank: int = 8) -> dict:
    m = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k"
    return {
        f"{m}.lokr_w1": ((4, 4),),
        f"{m}.lokr_w2_a": ((2, rank),),
        f"{m}.lokr_w2_b": ((rank, 512),),
        "lora_te1_text_model_encoder_layers_0_mlp_fc1.lokr_w1": ((4, 4),),
    }


def vae(latent_channels: int = 4) -> dict:
    return {
        "encoder.conv_in.weight": ((8, 3, 3, 3),),
        "decoder.conv_in.weight": ((8, latent_channels, 3, 3),),
        "decoder.conv_out.weight": ((3, 8, 3, 3),),
    }


def clip_l() -> dict:
    return {
        "text_model.embeddings.token_embedding.weight": ((16, 768),),
        "text_model.encoder.layers.0.self_attn.q_proj.weight": ((8, 8),),
    }


def t5xxl() -> dict:
    return {
        "encoder.block.0.layer.0.SelfAttention.q.weight": ((4, 4096),),
        "shared.weight": ((4, 4096),),
    }


def controlnet_sd1() -> dict:
    return {
        "control_model.input_hint_block.0.weight": ((16, 3, 3, 3),),
        "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": ((4, 768),),
    }


def controlnet_sdxl_diffusers() -> dict:
    return {
        "controlnet_cond_embedding.conv_in.weight": ((16, 3, 3, 3),),
        "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight": ((4, 2048),),
    }


def sd1_inpaint_checkpoint() -> dict:
    spec = sd1_checkpoint()
    spec[DM + "input_blocks.0.0.weight"] = ((8, 9, 3, 3),)  # 4 latent + 4 masked-image latent + 1 mask channels
    return spec


def flux_checkpoint() -> dict:
    """A ComfyUI-saved FLUX.1 checkpoint: transformer, VAE and text encoders in one file."""
    spec = {DM + name: item for name, item in flux_transformer(dev=False).items()}
    spec["vae.decoder.conv_in.weight"] = ((8, 16, 3, 3),)
    spec["text_encoders.clip_l.transformer.text_model.embeddings.token_embedding.weight"] = ((16, 768),)
    return spec


def kohya_lora_sd2(rank: int = 4) -> dict:
    m = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    return {
        f"{m}.lora_down.weight": ((rank, 1024),),
        f"{m}.lora_up.weight": ((8, rank),),
        f"{m}.alpha": ((), "F32", 1.0),
    }


def kohya_lora_sd3(rank: int = 8) -> dict:
    """sd-scripts' lora_sd3 key names (MMDiT joint blocks)."""
    m = "lora_unet_joint_blocks_0_context_block_attn_qkv"
    return {
        f"{m}.lora_down.weight": ((rank, 1536),),
        f"{m}.lora_up.weight": ((24, rank),),
        f"{m}.alpha": ((), "F32", float(rank)),
    }


def peft_lora_sd3(rank: int = 8) -> dict:
    """diffusers / PEFT SD3.5 Medium LoRA: transformer blocks 1536 wide, no single blocks (those are FLUX's)."""
    return {
        "transformer.transformer_blocks.0.attn.to_q.lora_A.weight": ((rank, 1536),),
        "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": ((16, rank),),
    }


def locon_sd1(rank: int = 8) -> dict:
    """kohya LoCon (LyCORIS conv LoRA): a 3x3 conv down-projection beside the linear ones."""
    spec = kohya_lora_sd1(rank=rank, alpha=1.0)
    c = "lora_unet_down_blocks_0_resnets_0_conv1"
    spec.update(
        {
            f"{c}.lora_down.weight": ((rank, 8, 3, 3),),
            f"{c}.lora_up.weight": ((8, rank, 1, 1),),
            f"{c}.alpha": ((), "F32", 1.0),
        }
    )
    return spec


def dora_sdxl(rank: int = 8) -> dict:
    spec = kohya_lora_sdxl(rank=rank)
    spec["lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.dora_scale"] = ((1, 2048),)
    return spec


LORA_METADATA = {
    "ss_network_module": "networks.lora",
    "ss_network_dim": "4",
    "ss_network_alpha": "2.0",
    "ss_base_model_version": "sd_v1",
    "ss_output_name": "pixel-style",
    "ss_num_train_images": "40",
    "ss_tag_frequency": json.dumps(
        {"10_pixel": {"pixel art": 40, "1girl": 12, " outdoors": 7}, "reg": {"landscape": 3}}
    ),
    "modelspec.architecture": "stable-diffusion-v1/lora",
    "modelspec.title": "Pixel Style",
}


# ---- newer DiT families (key names from ComfyUI's model_detection / comfy.ldm, Diffusion Pipe, diffusers)


def chroma_transformer() -> dict:
    """Chroma: FLUX.1's blocks, FLUX's guidance/vector embedders replaced by a distilled guidance layer."""
    spec = flux_transformer(dev=False)
    spec["distilled_guidance_layer.in_proj.weight"] = ((8, 64),)
    spec["distilled_guidance_layer.norms.0.scale"] = ((8,),)
    return spec


def wan_transformer(dim: int = 1536, image: bool = False, in_dim: int | None = None) -> dict:
    """Wan 2.1 (original / ComfyUI layout): patch_embedding [dim, in_dim, 1, 2, 2], head.modulation.
    Wan 2.2's 5B TI2V has the same layout with 48 input channels (its VAE's latents)."""
    spec = {
        "patch_embedding.weight": ((dim, in_dim or (36 if image else 16), 1, 1, 1),),
        "blocks.0.self_attn.q.weight": ((4, 8),),
        "blocks.0.cross_attn.k.weight": ((4, 8),),
        "blocks.0.ffn.0.weight": ((8, 8),),
        "head.modulation": ((1, 2, 8),),
        "head.head.weight": ((16, 8),),
    }
    if image:
        spec["img_emb.proj.0.bias"] = ((8,),)
    return spec


def wan_diffusers_transformer() -> dict:
    return {
        "patch_embedding.weight": ((5120, 16, 1, 1, 1),),
        "condition_embedder.text_embedder.linear_1.weight": ((8, 16),),
        "blocks.0.attn1.to_q.weight": ((8, 8),),
        "scale_shift_table": ((1, 2, 8),),
    }


def lumina2_transformer(diffusers: bool = False) -> dict:
    if diffusers:
        return {
            "time_caption_embed.caption_embedder.1.weight": ((8, 2304),),
            "layers.0.attn.to_q.weight": ((8, 8),),
            "noise_refiner.0.attn.to_q.weight": ((8, 8),),
        }
    return {
        "cap_embedder.1.weight": ((8, 2304),),
        "layers.0.attention.qkv.weight": ((24, 8),),
        "noise_refiner.0.attention.qkv.weight": ((24, 8),),
        "x_embedder.weight": ((8, 64),),
    }


def qwen_image_transformer() -> dict:
    """Qwen-Image (ComfyUI and diffusers share the names): txt_norm, img_in, transformer_blocks.N.img_mod.1."""
    return {
        "txt_norm.weight": ((8,),),
        "img_in.weight": ((3072, 64),),
        "txt_in.weight": ((3072, 8),),
        "transformer_blocks.0.img_mod.1.weight": ((8, 8),),
        "transformer_blocks.0.attn.to_q.weight": ((8, 8),),
    }


def flux2_transformer(width: int = 6144, diffusers: bool = False) -> dict:
    """FLUX.2: FLUX's double/single blocks with one shared modulation per stream; ``width`` names the model."""
    if diffusers:
        return {
            "x_embedder.weight": ((width, 128),),
            "double_stream_modulation_img.linear.weight": ((8, 8),),
            "transformer_blocks.0.attn.to_q.weight": ((8, 8),),
            "single_transformer_blocks.0.attn.to_qkv_mlp_proj.weight": ((8, 8),),
        }
    return {
        "img_in.weight": ((width, 128),),
        "double_blocks.0.img_attn.qkv.weight": ((24, 8),),
        "single_blocks.0.linear1.weight": ((8, 8),),
        "double_stream_modulation_img.lin.weight": ((8, 8),),
        "single_stream_modulation.lin.weight": ((8, 8),),
    }


def zimage_transformer() -> dict:
    """Z-Image: Lumina 2's NextDiT layout, 3840 wide, with x_pad_token / cap_pad_token."""
    return {
        "cap_embedder.1.weight": ((3840, 8),),
        "x_pad_token": ((1, 3840),),
        "cap_pad_token": ((1, 3840),),
        "layers.0.attention.qkv.weight": ((24, 8),),
        "noise_refiner.0.attention.qkv.weight": ((24, 8),),
    }


def hidream_transformer() -> dict:
    return {
        "caption_projection.0.linear.weight": ((8, 4096),),
        "double_stream_blocks.0.block.attn1.to_q.weight": ((8, 8),),
        "single_stream_blocks.0.block.attn1.to_q.weight": ((8, 8),),
    }


def hunyuan_video_transformer(in_channels: int = 16) -> dict:
    """Original HunyuanVideo layout (as ComfyUI loads it): a token refiner and a 3-D patch embedding, plus
    FLUX-like double/single blocks (which is why it must be told apart before FLUX.1)."""
    return {
        "img_in.proj.weight": ((8, in_channels, 1, 2, 2),),
        "txt_in.individual_token_refiner.blocks.0.norm1.weight": ((8,),),
        "txt_in.input_embedder.weight": ((8, 4096),),
        "double_blocks.0.img_attn.qkv.weight": ((24, 8),),
        "single_blocks.0.linear1.weight": ((8, 8),),
        "final_layer.linear.weight": ((64, 8),),
    }


def hunyuan_video_diffusers_transformer() -> dict:
    return {
        "x_embedder.proj.weight": ((8, 16, 1, 2, 2),),
        "context_embedder.token_refiner.refiner_blocks.0.norm1.weight": ((8,),),
        "transformer_blocks.0.attn.to_q.weight": ((8, 8),),
        "single_transformer_blocks.0.attn.to_q.weight": ((8, 8),),
    }


def ltxv_transformer(diffusers: bool = False) -> dict:
    if diffusers:
        return {
            "time_embed.emb.timestep_embedder.linear_1.bias": ((8,),),
            "proj_in.weight": ((8, 128),),
            "transformer_blocks.0.attn2.to_k.weight": ((8, 4096),),
            "caption_projection.linear_1.weight": ((8, 4096),),
        }
    return {
        "adaln_single.emb.timestep_embedder.linear_1.bias": ((8,),),
        "patchify_proj.weight": ((8, 128),),
        "transformer_blocks.0.attn1.to_q.weight": ((8, 8),),
        "transformer_blocks.0.attn2.to_k.weight": ((8, 4096),),
    }


def pixart_transformer() -> dict:
    """PixArt shares LTX-Video's adaln_single but has a pos_embed (it must not be called LTX-Video)."""
    return {
        "adaln_single.emb.timestep_embedder.linear_1.bias": ((8,),),
        "pos_embed.proj.bias": ((8,),),
        "transformer_blocks.0.attn1.to_q.weight": ((8, 8),),
    }


def as_checkpoint(spec: dict) -> dict:
    """A ComfyUI-saved checkpoint: the model under model.diffusion_model. plus a bundled VAE."""
    out = {DM + name: item for name, item in spec.items()}
    out["vae.decoder.conv_in.weight"] = ((8, 16, 3, 3),)
    return out


def peft_lora(modules: dict[str, int], prefix: str = "diffusion_model.", rank: int = 4) -> dict:
    """A PEFT LoRA (Diffusion Pipe saves ``diffusion_model.`` + PEFT names, diffusers ``transformer.``):
    ``modules`` maps a module name to its input width."""
    spec = {}
    for module, width in modules.items():
        spec[f"{prefix}{module}.lora_A.weight"] = ((rank, width),)
        spec[f"{prefix}{module}.lora_B.weight"] = ((8, rank),)
    return spec


def kohya_lora(modules: dict[str, int], rank: int = 4) -> dict:
    """A kohya / musubi-tuner LoRA: ``lora_unet_`` + the module name with dots as underscores."""
    spec = {}
    for module, width in modules.items():
        m = "lora_unet_" + module.replace(".", "_")
        spec.update(
            {
                f"{m}.lora_down.weight": ((rank, width),),
                f"{m}.lora_up.weight": ((8, rank),),
                f"{m}.alpha": ((), "F16", float(rank)),
            }
        )
    return spec

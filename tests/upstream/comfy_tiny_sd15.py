"""Build a small, randomly initialised SD1.5-type checkpoint (and a LoRA for it) with ComfyUI's own classes.

Run in the ComfyUI env with the ComfyUI tree on sys.path:
``python comfy_tiny_sd15.py COMFY_SRC CHECKPOINT LORA``.

ComfyUI detects a single-file checkpoint's type from its UNet keys and matches
SD1.5 on model_channels=320 and context_dim=768 only, so the UNet keeps those
widths but has one level with one res block (26 M parameters instead of 860 M).
The text encoder is ComfyUI's bundled CLIP-L config at full size (ComfyUI builds
it from that config whatever the file holds), and the VAE is a TAESD (ComfyUI
picks it by its key names). Every weight is random; nothing is downloaded.
"""

from __future__ import annotations

import sys

UNET_CONFIG = {
    "use_checkpoint": False,
    "image_size": 32,
    "out_channels": 4,
    "use_spatial_transformer": True,
    "legacy": False,
    "adm_in_channels": None,
    "in_channels": 4,
    "model_channels": 320,
    "num_res_blocks": [1],
    "transformer_depth": [1],
    "channel_mult": [1],
    "transformer_depth_middle": 1,
    "use_linear_in_transformer": False,
    "context_dim": 768,
    "num_heads": 8,
    "num_head_channels": -1,
    "transformer_depth_output": [1, 1],
    "use_temporal_resblock": False,
    "use_temporal_attention": False,
}
LORA_RANK = 4
# Kohya names ComfyUI maps onto this UNet's first attention block and the text encoder's first layer.
LORA_TARGETS = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k": (320, 768),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v": (320, 768),
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj": (768, 768),
}


def _randomise(module, torch) -> None:
    """ComfyUI's layers skip weight init (weights come from files): give every parameter a plain random init."""
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.ndim >= 2:
                param.normal_(0, param[0].numel() ** -0.5)
            elif "norm" in name and name.endswith("weight"):
                param.fill_(1)
            else:
                param.zero_()


def main(src: str, checkpoint: str, lora: str) -> None:
    sys.path.insert(0, src)
    sys.argv = [sys.argv[0], "--cpu"]
    import comfy.options

    comfy.options.enable_args_parsing()
    import comfy.model_detection
    import comfy.ops
    import comfy.sd1_clip
    import comfy.taesd.taesd
    import torch
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    from safetensors.torch import save_file

    torch.manual_seed(0)
    unet = UNetModel(**UNET_CONFIG, operations=comfy.ops.disable_weight_init)
    clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float32)
    vae = comfy.taesd.taesd.TAESD(latent_channels=4)
    tensors = {}
    for prefix, module in (("model.diffusion_model.", unet), ("cond_stage_model.", clip), ("first_stage_model.", vae)):
        _randomise(module, torch)
        for key, value in module.state_dict().items():
            tensors[prefix + key] = value.detach().to(torch.float16).contiguous()
    detected = type(comfy.model_detection.model_config_from_unet(tensors, "model.diffusion_model.")).__name__
    if detected != "SD15":
        raise SystemExit(f"ComfyUI detects this UNet as {detected}, not SD15")
    save_file(tensors, checkpoint, metadata={"lorapilot": "random tiny SD15 for the upstream tests"})

    lora_tensors = {}
    for name, (out_dim, in_dim) in LORA_TARGETS.items():
        lora_tensors[f"{name}.lora_down.weight"] = torch.randn(LORA_RANK, in_dim, dtype=torch.float16) * 0.01
        lora_tensors[f"{name}.lora_up.weight"] = torch.randn(out_dim, LORA_RANK, dtype=torch.float16) * 0.01
        lora_tensors[f"{name}.alpha"] = torch.tensor(float(LORA_RANK))
    save_file(
        lora_tensors,
        lora,
        metadata={
            "ss_network_module": "networks.lora",
            "ss_network_dim": str(LORA_RANK),
            "ss_base_model_version": "sd_v1",
        },
    )
    print(f"built {checkpoint} ({detected}) and {lora}")


if __name__ == "__main__":
    main(*sys.argv[1:4])

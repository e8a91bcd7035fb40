"""Write a trained LoRA as a kohya sd-scripts file, which ComfyUI, A1111/Forge and diffusers all load.

Keys: ``lora_unet_<module path with _>.lora_down.weight`` [r, in], ``.lora_up.weight`` [out, r] and
``.alpha`` (scale = alpha / r); text encoders ``lora_te_`` (SD1/SD2) or ``lora_te1_``/``lora_te2_``
(SDXL). SD1/SD2 keep diffusers' UNet module names (sd-scripts trains on a diffusers-layout UNet);
SDXL uses the original (SGM) names such as ``input_blocks_4_1_...``; FLUX.1 uses BFL's names with
fused projections (see ``flux_names``). ``.alpha`` is always written with the configured alpha,
kept in float32 so a fractional alpha survives a float16 file.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

LORA_A, LORA_B = ".lora_A.weight", ".lora_B.weight"

TEXT_ENCODER_PREFIXES = {
    "sd1": ["lora_te_"],
    "sd2": ["lora_te_"],
    "sdxl": ["lora_te1_", "lora_te2_"],
    "flux1": [],
}

_RESNET_PARTS = {
    "conv1": "in_layers.2",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
    "norm1": "in_layers.0",
    "norm2": "out_layers.0",
}
_TOP_LEVEL = {
    "conv_in": "input_blocks.0.0",
    "conv_out": "out.2",
    "conv_norm_out": "out.0",
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
}


def _resnet(rest: str) -> str:
    head, _, tail = rest.partition(".")
    return ".".join(p for p in (_RESNET_PARTS.get(head, head), tail) if p)


def sgm_unet_namer(unet_config) -> Callable[[str], str]:
    """Map diffusers UNet module paths to the SGM (original SDXL) paths kohya writes for SDXL."""
    per_block = unet_config["layers_per_block"]
    if not isinstance(per_block, int):
        raise ValueError("SGM names need the same layers_per_block in every UNet block")
    up_has_attention = ["CrossAttn" in kind for kind in unet_config["up_block_types"]]

    def name(path: str) -> str:
        for prefix, target in _TOP_LEVEL.items():
            if path == prefix or path.startswith(prefix + "."):
                return target + path[len(prefix) :]
        if m := re.fullmatch(r"down_blocks\.(\d+)\.(attentions|resnets)\.(\d+)\.(.+)", path):
            block, kind, layer, rest = int(m[1]), m[2], int(m[3]), m[4]
            index = 1 + block * (per_block + 1) + layer
            return (
                f"input_blocks.{index}.1.{rest}" if kind == "attentions" else f"input_blocks.{index}.0.{_resnet(rest)}"
            )
        if m := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv(.*)", path):
            return f"input_blocks.{(int(m[1]) + 1) * (per_block + 1)}.0.op{m[2]}"
        if m := re.fullmatch(r"mid_block\.attentions\.0\.(.+)", path):
            return f"middle_block.1.{m[1]}"
        if m := re.fullmatch(r"mid_block\.resnets\.(\d)\.(.+)", path):
            return f"middle_block.{0 if m[1] == '0' else 2}.{_resnet(m[2])}"
        if m := re.fullmatch(r"up_blocks\.(\d+)\.(attentions|resnets)\.(\d+)\.(.+)", path):
            block, kind, layer, rest = int(m[1]), m[2], int(m[3]), m[4]
            index = block * (per_block + 1) + layer
            return (
                f"output_blocks.{index}.1.{rest}"
                if kind == "attentions"
                else f"output_blocks.{index}.0.{_resnet(rest)}"
            )
        if m := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv(.*)", path):
            block = int(m[1])
            inner = 2 if up_has_attention[block] else 1
            return f"output_blocks.{block * (per_block + 1) + per_block}.{inner}.conv{m[2]}"
        raise ValueError(f"no SGM name for UNet module {path}")

    return name


def clip_text_namer(path: str) -> str:
    """CLIP text-encoder module paths as kohya writes them (``text_model.encoder.layers...``).

    transformers 5 dropped the ``text_model`` level from ``CLIPTextModel`` (not from
    ``CLIPTextModelWithProjection``); the file keeps the layout every loader knows.
    """
    return path if path.startswith("text_model.") else f"text_model.{path}"


def peft_modules(peft_state: dict[str, torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Group a peft LoRA state dict (``<module>.lora_A.weight`` ...) as module -> (down, up)."""
    modules: dict[str, list] = {}
    for key, tensor in peft_state.items():
        if key.endswith(LORA_A):
            modules.setdefault(key[: -len(LORA_A)], [None, None])[0] = tensor
        elif key.endswith(LORA_B):
            modules.setdefault(key[: -len(LORA_B)], [None, None])[1] = tensor
        else:
            raise ValueError(f"unexpected key in a LoRA state dict: {key}")
    for module, (down, up) in modules.items():
        if down is None or up is None:
            raise ValueError(f"LoRA module {module} lacks its down or up weight")
    return {module: (pair[0], pair[1]) for module, pair in modules.items()}


def to_kohya(
    peft_state: dict[str, torch.Tensor],
    prefix: str,
    alpha: float,
    dtype: torch.dtype,
    namer: Callable[[str], str] | None = None,
) -> dict[str, torch.Tensor]:
    """Rename one model's LoRA to kohya keys under ``prefix`` (``lora_unet_``, ``lora_te1_`` ...)."""
    out: dict[str, torch.Tensor] = {}
    for module, (down, up) in sorted(peft_modules(peft_state).items()):
        _put(out, prefix + (namer(module) if namer else module).replace(".", "_"), down, up, alpha, dtype)
    return out


def flux_names(
    peft_state: dict[str, torch.Tensor], alpha: float, dtype: torch.dtype, out_features: Callable[[str], int]
) -> dict[str, torch.Tensor]:
    """FLUX.1 transformer LoRA in sd-scripts' ``networks.lora_flux`` layout (BFL module names).

    Projections diffusers keeps apart but BFL fuses (img/txt q,k,v -> ``qkv``; single blocks'
    q,k,v and MLP-in -> ``linear1``) become one LoRA on the fused layer: the parts' down weights
    stacked, their up weights block-diagonal (zero rows for a part that was not trained, sized by
    ``out_features(diffusers module path)``), alpha times the number of trained parts so each part
    keeps its scale alpha / r. Applied to the fused weight, it changes it exactly as the parts did.
    """
    modules = peft_modules(peft_state)
    out: dict[str, torch.Tensor] = {}
    groups: dict[str, dict[int, str]] = {}
    for module in modules:
        target = _flux_target(module)
        if target is None:
            raise ValueError(f"no kohya FLUX name for transformer module {module}")
        name, part, parts = target
        if parts == 1:
            down, up = modules[module]
            if module == "norm_out.linear":  # BFL orders this modulation (shift, scale), diffusers (scale, shift)
                up = torch.cat(up.chunk(2, dim=0)[::-1], dim=0)
            _put(out, name, down, up, alpha, dtype)
        else:
            groups.setdefault(name, {})[part] = module
    for name, members in groups.items():
        prefix, table = _flux_group(members)
        downs, blocks = [], []
        for part, suffix in enumerate(table):
            module = members.get(part)
            if module is None:
                blocks.append((out_features(prefix + suffix), None))
            else:
                down, up = modules[module]
                downs.append(down)
                blocks.append((up.shape[0], up))
        rank = sum(d.shape[0] for d in downs)
        up = torch.zeros(sum(rows for rows, _ in blocks), rank, dtype=downs[0].dtype, device=downs[0].device)
        row = col = 0
        for rows, part_up in blocks:
            if part_up is not None:
                up[row : row + rows, col : col + part_up.shape[1]] = part_up
                col += part_up.shape[1]
            row += rows
        _put(out, name, torch.cat(downs, dim=0), up, alpha * len(downs), dtype)
    return out


def _flux_group(members: dict[int, str]) -> tuple[str, list[str]]:
    """The diffusers path prefix of a fused group's block and its parts' suffixes in order."""
    any_module = next(iter(members.values()))
    block, _, rest = any_module.partition(".")
    index, _, suffix = rest.partition(".")
    table = _FLUX_DOUBLE if block == "transformer_blocks" else _FLUX_SINGLE
    fused = table[suffix][0]
    parts = sorted((entry[1], key) for key, entry in table.items() if entry[0] == fused)
    return f"{block}.{index}.", [key for _, key in parts]


_FLUX_DOUBLE = {
    "attn.to_q": ("img_attn_qkv", 0, 3),
    "attn.to_k": ("img_attn_qkv", 1, 3),
    "attn.to_v": ("img_attn_qkv", 2, 3),
    "attn.add_q_proj": ("txt_attn_qkv", 0, 3),
    "attn.add_k_proj": ("txt_attn_qkv", 1, 3),
    "attn.add_v_proj": ("txt_attn_qkv", 2, 3),
    "attn.to_out.0": ("img_attn_proj", 0, 1),
    "attn.to_add_out": ("txt_attn_proj", 0, 1),
    "ff.net.0.proj": ("img_mlp_0", 0, 1),
    "ff.net.2": ("img_mlp_2", 0, 1),
    "ff_context.net.0.proj": ("txt_mlp_0", 0, 1),
    "ff_context.net.2": ("txt_mlp_2", 0, 1),
    "norm1.linear": ("img_mod_lin", 0, 1),
    "norm1_context.linear": ("txt_mod_lin", 0, 1),
}
_FLUX_SINGLE = {
    "attn.to_q": ("linear1", 0, 4),
    "attn.to_k": ("linear1", 1, 4),
    "attn.to_v": ("linear1", 2, 4),
    "proj_mlp": ("linear1", 3, 4),
    "proj_out": ("linear2", 0, 1),
    "norm.linear": ("modulation_lin", 0, 1),
}


_FLUX_TOP = {
    "x_embedder": "img_in",
    "context_embedder": "txt_in",
    "proj_out": "final_layer_linear",
    "norm_out.linear": "final_layer_adaLN_modulation_1",
    "time_text_embed.timestep_embedder.linear_1": "time_in_in_layer",
    "time_text_embed.timestep_embedder.linear_2": "time_in_out_layer",
    "time_text_embed.guidance_embedder.linear_1": "guidance_in_in_layer",
    "time_text_embed.guidance_embedder.linear_2": "guidance_in_out_layer",
    "time_text_embed.text_embedder.linear_1": "vector_in_in_layer",
    "time_text_embed.text_embedder.linear_2": "vector_in_out_layer",
}


def flux_supported(module: str) -> bool:
    """Whether a FLUX.1 transformer module has a kohya name (checked before training starts)."""
    return _flux_target(module) is not None


def _flux_target(module: str) -> tuple[str, int, int] | None:
    if module in _FLUX_TOP:
        return f"lora_unet_{_FLUX_TOP[module]}", 0, 1
    if m := re.fullmatch(r"transformer_blocks\.(\d+)\.(.+)", module):
        hit = _FLUX_DOUBLE.get(m[2])
        return (f"lora_unet_double_blocks_{m[1]}_{hit[0]}", hit[1], hit[2]) if hit else None
    if m := re.fullmatch(r"single_transformer_blocks\.(\d+)\.(.+)", module):
        hit = _FLUX_SINGLE.get(m[2])
        return (f"lora_unet_single_blocks_{m[1]}_{hit[0]}", hit[1], hit[2]) if hit else None
    return None


def _put(out, name, down, up, alpha, dtype) -> None:
    out[f"{name}.lora_down.weight"] = down.detach().to("cpu", dtype).contiguous()
    out[f"{name}.lora_up.weight"] = up.detach().to("cpu", dtype).contiguous()
    out[f"{name}.alpha"] = torch.tensor(float(alpha), dtype=torch.float32)

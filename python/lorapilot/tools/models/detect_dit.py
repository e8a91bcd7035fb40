"""Newer diffusion transformers, told apart by their tensor names: Chroma, Wan 2.x, Lumina Image 2.0,
HiDream-I1, HunyuanVideo, LTX-Video, Qwen-Image, FLUX.2 and Z-Image (full models and their LoRAs).

The markers, checked against the model code ComfyUI and Diffusion Pipe load (original / ComfyUI layout,
then the diffusers one):

- Chroma: FLUX.1's ``double_blocks.*`` plus ``distilled_guidance_layer.*`` (it replaces FLUX's modulation);
  Chroma Radiance adds ``nerf_blocks.*``.
- Wan: ``head.modulation`` and ``patch_embedding.weight`` [dim, in_dim, 1, 2, 2]; ``img_emb.*`` only in
  image-to-video. diffusers: ``condition_embedder.*``. LoRA modules ``blocks.N.self_attn.q`` /
  ``blocks.N.cross_attn.k`` / ``blocks.N.ffn.0`` (diffusers ``blocks.N.attn1.to_q``).
- Lumina 2 (NextDiT, 2304 wide): ``cap_embedder.1.weight``; diffusers ``time_caption_embed.caption_embedder``.
  LoRA modules ``layers.N.attention.qkv``, ``noise_refiner.N.*``, ``context_refiner.N.*``.
- HiDream-I1: ``caption_projection.0.linear.weight`` with ``double_stream_blocks.*`` /
  ``single_stream_blocks.*`` (both layouts and its LoRAs).
- HunyuanVideo: ``txt_in.individual_token_refiner.*`` and a 3-D patch embedding ``img_in.proj.weight``;
  diffusers ``context_embedder.token_refiner.*``. Its double blocks share FLUX.1's names once dots become
  underscores, so a LoRA is told by ``img_attn_qkv`` (dotted), ``img_mlp.fc1`` or ``img_mod.linear``
  (FLUX.1: ``img_attn.qkv``, ``img_mlp.0``, ``img_mod.lin``).
- LTX-Video: ``adaln_single.emb.timestep_embedder.*`` without PixArt's ``pos_embed.proj``; diffusers
  ``time_embed.emb.timestep_embedder.*`` with ``proj_in``. LoRA modules ``transformer_blocks.N.attn1.to_q``
  at the top level, 2048 (2B) or 4096 (13B) wide.
- Qwen-Image: ``txt_norm.weight`` (ComfyUI's model_detection.py: "Qwen Image"; diffusers'
  QwenImageTransformer2DModel uses the same names). LoRA modules ``transformer_blocks.N.img_mlp`` /
  ``txt_mlp`` / ``img_mod`` / ``txt_mod`` (FLUX.1's diffusers blocks call them ff / ff_context / norm1).
- FLUX.2: ``double_stream_modulation_img.*`` (one modulation shared by all blocks: AI Toolkit's
  flux2/src/model.py, Diffusion Pipe's models/flux2.py, diffusers' Flux2Transformer2DModel). The width of
  ``img_in.weight`` (diffusers ``x_embedder.weight``) names the model, as Diffusion Pipe reads it: 6144 dev,
  4096 Klein 9B, 3072 Klein 4B. Its LoRAs share FLUX.1's ``double_blocks.N.img_attn.qkv`` names: one that
  is 6144 or 4096 wide is FLUX.2 (FLUX.1 is 3072 wide).
- Z-Image: Lumina 2's NextDiT layout (``cap_embedder.1.weight``, ``layers.N.attention``) plus
  ``x_pad_token`` / ``cap_pad_token`` (Diffusion Pipe's models/z_image.py, diffusers'
  ZImageTransformer2DModel), 3840 wide. LoRA modules as Lumina 2's (or ``attention.to_q``), 3840 wide.
"""

from __future__ import annotations

import re

# LoRA key prefixes in front of the model's own module names: ComfyUI / Diffusion Pipe, diffusers, PEFT,
# kohya / musubi-tuner, SimpleTuner LyCORIS, OneTrainer.
_ADAPTER_PREFIXES = (
    "diffusion_model.",
    "transformer.",
    "base_model.model.",
    "lora_unet_",
    "lycoris_",
    "lora_transformer_",
)
_DOWN_SUFFIXES = (".lora_down.weight", ".lora_A.weight", ".hada_w1_b")
# FLUX.2's hidden width per model (Diffusion Pipe's models/flux2.py reads img_in.weight's rows the same way).
FLUX2_WIDTHS = {6144: "dev", 4096: "klein 9B", 3072: "klein 4B"}


def dit_model_family(keys, prefix: str) -> tuple[str | None, str | None, str] | None:
    """``(family, variant, evidence)`` for a full DiT model of one of these families, else None.

    ``prefix`` is ``model.diffusion_model.`` for a checkpoint with bundled parts, else ``""``."""

    def k(name: str) -> str:
        return prefix + name

    refiner = k("txt_in.individual_token_refiner.blocks.0.norm1.weight")
    if keys.has(refiner) or keys.has("context_embedder.token_refiner.refiner_blocks.0.norm1.weight"):
        patch = keys.shape(k("img_in.proj.weight")) or keys.shape("x_embedder.proj.weight") or ()
        if len(patch) == 4:  # a 2-D patch embedding: HunyuanImage, not a video model
            return None, "HunyuanImage (2-D patches)", "key txt_in.individual_token_refiner with a 2-D img_in"
        variant = {16: "t2v", 32: "i2v"}.get(patch[1]) if len(patch) > 1 else None
        return "hunyuan_video", variant, "key txt_in.individual_token_refiner (token refiner)"
    if keys.any_prefix(k("distilled_guidance_layer.")):
        variant = "radiance" if keys.any_prefix(k("nerf_blocks.")) else None
        return "chroma", variant, f"key {k('distilled_guidance_layer.')}*"
    if keys.has(k("caption_projection.0.linear.weight")) and keys.any_prefix(k("double_stream_blocks.")):
        return "hidream", None, f"keys {k('caption_projection.0.linear.weight')} and double_stream_blocks"
    if keys.has(k("x_pad_token")) and keys.has(k("cap_pad_token")):
        return "zimage", None, f"keys {k('x_pad_token')} and cap_pad_token"
    if keys.has(k("txt_norm.weight")) and keys.has(k("img_in.weight")):
        return "qwen_image", None, f"key {k('txt_norm.weight')}"
    # BFL / ComfyUI layout names the image embedding img_in, diffusers x_embedder.
    for modulation, embed in (
        (k("double_stream_modulation_img."), k("img_in.weight")),
        ("double_stream_modulation_img.", "x_embedder.weight"),
    ):
        if keys.any_prefix(modulation) and keys.has(embed):
            width = (keys.shape(embed) or (0,))[0]
            variant = FLUX2_WIDTHS.get(width)
            return "flux2", variant, f"key {modulation}* ({embed} {width} wide)"
    for name in (k("cap_embedder.1.weight"), "time_caption_embed.caption_embedder.1.weight"):
        if keys.has(name):
            return "lumina2", None, f"key {name}"
    patch_key = k("patch_embedding.weight")
    if keys.has(patch_key) and (keys.has(k("head.modulation")) or keys.any_prefix("condition_embedder.")):
        return "wan", _wan_variant(keys, prefix), f"keys {patch_key} and head.modulation / condition_embedder"
    if keys.has(k("adaln_single.emb.timestep_embedder.linear_1.bias")) and not keys.has(k("pos_embed.proj.bias")):
        return "ltxv", None, f"key {k('adaln_single.emb.timestep_embedder.linear_1.bias')} (no PixArt pos_embed)"
    if (
        keys.has("time_embed.emb.timestep_embedder.linear_1.bias")
        and keys.has("proj_in.weight")
        and keys.has("transformer_blocks.0.attn2.to_k.weight")
    ):
        return "ltxv", None, "diffusers LTX-Video keys time_embed / proj_in / attn2"
    return None


def _wan_variant(keys, prefix: str) -> str:
    shape = keys.shape(prefix + "patch_embedding.weight") or (0, 0)
    dim, in_dim = shape[0], shape[1] if len(shape) > 1 else 0
    image = keys.any_prefix(prefix + "img_emb.", "condition_embedder.image_embedder.")
    task = "ti2v" if in_dim == 48 else ("i2v" if image else "t2v")
    size = {1536: "1.3B", 3072: "5B", 5120: "14B"}.get(dim)
    return f"{task} {size}" if size else task


def _strip_prefix(name: str) -> tuple[str, bool]:
    """The model's own module name, and whether it was written with underscores (kohya style)."""
    for prefix in _ADAPTER_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :], not prefix.endswith(".")
    return name, False


def _width(keys, names: list[str], module: re.Pattern) -> int | None:
    """The input width of the first down-projection whose module matches ``module``."""
    for name in names:
        if name.endswith(_DOWN_SUFFIXES) and module.search(name):
            shape = keys.shape(name) or ()
            if len(shape) >= 2:
                return shape[1]
    return None


_HIDREAM = re.compile(r"^(double|single)_stream_blocks[._]\d+[._]")
_WAN = re.compile(r"^blocks[._]\d+[._](self_attn|cross_attn|ffn|attn1|attn2)[._]")
_LUMINA = re.compile(
    r"^(noise_refiner|context_refiner|layers)[._]\d+[._](attention[._]qkv|attention[._]out|feed_forward|adaLN_modulation|attn[._]to_)"
)
_LUMINA_QKV = re.compile(r"(attention[._]qkv|attn[._]to_q|attention[._]to_q)")
_ZIMAGE = re.compile(
    r"^(noise_refiner|context_refiner|layers)[._]\d+[._](attention[._](qkv|to_[qkv]|out|to_out)|feed_forward)"
)
_QWEN = re.compile(r"^transformer_blocks[._]\d+[._](img_mlp|txt_mlp|img_mod|txt_mod)[._]")
_FLUX_QKV = re.compile(r"^double_blocks[._]\d+[._]img_attn[._]qkv$")
_LTX = re.compile(r"^transformer_blocks[._]\d+[._]attn[12][._]to_")
_LTX_Q = re.compile(r"attn1[._]to_q")
_HUNYUAN_DOTTED = re.compile(
    r"^(double_blocks\.\d+\.(img|txt)_(attn_qkv|attn_proj|mlp\.fc[12]|mod\.linear)|single_blocks\.\d+\.modulation\.linear)"
)
_HUNYUAN_KOHYA = re.compile(
    r"^(double_blocks_\d+_(img|txt)_(mlp_fc[12]|mod_linear)|single_blocks_\d+_modulation_linear)"
)


def dit_adapter_family(keys) -> tuple[str, str] | None:
    """``(family, evidence)`` for a LoRA / LyCORIS of one of these families, from its module names."""
    stripped = [(name, *_strip_prefix(name)) for name in keys.names]
    for name, module, underscored in stripped:
        if "distilled_guidance_layer" in module:
            return "chroma", f"key {name}"
        if "individual_token_refiner" in module or "token_refiner" in module:
            return "hunyuan_video", f"key {name}"
        if (_HUNYUAN_KOHYA if underscored else _HUNYUAN_DOTTED).search(module):
            return "hunyuan_video", f"key {name} (HunyuanVideo module name)"
        if _HIDREAM.search(module):
            return "hidream", f"key {name}"
        if _WAN.search(module):
            return "wan", f"key {name}"
        if _QWEN.search(module):
            return "qwen_image", f"key {name} (Qwen-Image module name)"
    names = keys.names
    for name, module, _ in stripped:
        base = module.rsplit(".lora", 1)[0] if ".lora" in module else module
        if name.endswith(_DOWN_SUFFIXES) and _FLUX_QKV.search(base):
            width = (keys.shape(name) or (0, 0))[1]
            if width in (6144, 4096):
                return "flux2", f"{name} has {width} inputs (FLUX.1 has 3072)"
    zimage = next((name for name, module, _ in stripped if _ZIMAGE.search(module)), None)
    if zimage and _width(keys, names, _LUMINA_QKV) == 3840:
        return "zimage", f"key {zimage} (3840 wide)"
    lumina = next((name for name, module, _ in stripped if _LUMINA.search(module)), None)
    if lumina and _width(keys, names, _LUMINA_QKV) in (None, 2304):
        return "lumina2", f"key {lumina}"
    ltx = next((name for name, module, _ in stripped if _LTX.search(module)), None)
    if ltx and _width(keys, names, _LTX_Q) in (None, 2048, 4096):
        return "ltxv", f"key {ltx} (top-level transformer_blocks with attn1/attn2)"
    return None


def dit_family_from_metadata(text: str) -> str | None:
    """A family named in ``modelspec.architecture`` / ``ss_base_model_version`` (sd-scripts, musubi-tuner)."""
    for marker, family in (
        ("chroma", "chroma"),
        ("hunyuan-video", "hunyuan_video"),
        ("hunyuan_video", "hunyuan_video"),
        ("hyvideo", "hunyuan_video"),
        ("lumina", "lumina2"),
        ("hidream", "hidream"),
        ("ltx", "ltxv"),
        ("qwen-image", "qwen_image"),
        ("qwen_image", "qwen_image"),
        ("flux.2", "flux2"),
        ("flux-2", "flux2"),
        ("flux2", "flux2"),
        ("z-image", "zimage"),
        ("zimage", "zimage"),
        ("z_image", "zimage"),
        ("wan", "wan"),
    ):
        if marker in text:
            return family
    return None

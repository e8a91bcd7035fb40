"""What a safetensors file is, from its tensor names and shapes alone.

:func:`detect` looks at a parsed header (never the tensor data, except a
LoRA's scalar ``alpha`` when the metadata does not give it) and answers: the
kind (full checkpoint, diffusion model, LoRA, LyCORIS, VAE, text encoder,
ControlNet, embedding, ...), the base family (SD1.x, SD2.x, SDXL base or
refiner, SD3, FLUX.1, and the DiT families of :mod:`lorapilot.tools.models.detect_dit`: Chroma, Wan 2.x,
Lumina 2, HiDream-I1, HunyuanVideo, LTX-Video, Qwen-Image, FLUX.2, Z-Image), and for adapters their rank and alpha.

Key patterns (original LDM/A1111 layout unless noted):

- SD1.x / SD2.x: ``model.diffusion_model.input_blocks.*``; the width of the
  cross-attention key (``attn2.to_k``) is the text encoder's: 768 (CLIP-L, SD1)
  or 1024 (OpenCLIP-H, SD2).
- SDXL: ``label_emb.0.0.weight`` with 2816 inputs (base) or 2560 (refiner).
- SD3: ``joint_blocks.*``. FLUX.1: ``double_blocks.*`` / ``single_blocks.*``;
  ``guidance_in`` only in dev.
- kohya LoRA: ``lora_unet_<module>.lora_down.weight`` [rank, in]; SDXL has
  ``lora_te1_``/``lora_te2_``; FLUX ``lora_unet_double_blocks_*``. PEFT:
  ``*.lora_A.weight``. LyCORIS: ``hada_w1_a`` (LoHa), ``lokr_w1`` (LoKr),
  ``on_input`` ((IA)^3), ``diff`` (full).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

from lorapilot.tools.models.detect_dit import dit_adapter_family, dit_family_from_metadata, dit_model_family
from lorapilot.tools.models.safetensors_header import SafetensorsHeader, read_scalar

FAMILIES: dict[str, str] = {
    "sd1": "SD1.x",
    "sd2": "SD2.x",
    "sdxl": "SDXL",
    "sdxl_refiner": "SDXL refiner",
    "sd3": "SD3",
    "flux1": "FLUX.1",
    "chroma": "Chroma",
    "wan": "Wan 2.x",
    "lumina2": "Lumina Image 2.0",
    "hidream": "HiDream-I1",
    "hunyuan_video": "HunyuanVideo",
    "ltxv": "LTX-Video",
    "qwen_image": "Qwen-Image",
    "flux2": "FLUX.2",
    "zimage": "Z-Image",
}

KINDS: dict[str, str] = {
    "checkpoint": "checkpoints",
    "diffusion_model": "diffusion_models",
    "lora": "loras",
    "lycoris": "loras",
    "vae": "vae",
    "text_encoder": "text_encoders",
    "controlnet": "controlnet",
    "embedding": "embeddings",
    "clip_vision": "clip_vision",
    "upscaler": "upscale_models",
    "diffusers": "diffusers",
    "unknown": "",
}
"""Every kind :func:`detect` answers, with the store folder it belongs in."""

# ComfyUI-format FLUX.1 LoRA (as Diffusion Pipe saves FLUX-layout models): original block names, dotted.
_FLUX_DOTTED = re.compile(r"^(diffusion_model\.|transformer\.)?(double|single)_blocks\.\d+\.")
FLUX_LAYOUT_FAMILIES = ("chroma", "hunyuan_video")  # families whose LoRA keys can match FLUX.1's
_CONTEXT_DIM_FAMILY = {768: "sd1", 1024: "sd2", 2048: "sdxl"}
_LORA_SUFFIXES = (".lora_down.weight", ".lora_A.weight", ".lora.down.weight", "_lora.down.weight")
_LYCORIS_MARKERS = {"hada_w1_a": "loha", "lokr_w1": "lokr", "lokr_w1_a": "lokr", "lokr_w2": "lokr", "on_input": "ia3"}


@dataclass
class LoraInfo:
    """An adapter's shape: the algorithm, its rank (most common) and alpha."""

    algo: str  # lora, dora, locon, loha, lokr, ia3, full
    rank: int | None
    alpha: float | None
    ranks: list[int] = field(default_factory=list)  # every distinct rank (more than one: a dynamic-rank file)
    modules: int = 0
    text_encoder: bool = False
    network_module: str | None = None

    @property
    def scale(self) -> float | None:
        """alpha / rank, the multiplier the adapter is applied with (1 without alpha)."""
        if self.rank in (None, 0):
            return None
        return 1.0 if self.alpha is None else self.alpha / self.rank


@dataclass
class Detection:
    """The answer of :func:`detect`; ``folder`` is the store folder the file belongs in."""

    kind: str
    family: str | None = None
    variant: str | None = None  # dev / schnell, inpaint, CLIP-L, T5-XXL, 16-channel, ...
    evidence: str = ""  # the key or metadata field that decided
    lora: LoraInfo | None = None
    dtype: str | None = None  # the dtype holding most bytes
    params: int = 0
    tensors: int = 0

    @property
    def folder(self) -> str | None:
        return KINDS.get(self.kind) or None

    @property
    def family_label(self) -> str | None:
        return FAMILIES.get(self.family or "", None)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["folder"] = self.folder
        data["family_label"] = self.family_label
        if self.lora is not None:
            data["lora"]["scale"] = self.lora.scale
        return data


class _Keys:
    """Tensor names with helpers to find patterns fast."""

    def __init__(self, header: SafetensorsHeader):
        self.header = header
        self.names = list(header.tensors)

    def has(self, name: str) -> bool:
        return name in self.header.tensors

    def shape(self, name: str) -> tuple[int, ...] | None:
        return self.header.shape(name)

    def first(self, predicate) -> str | None:
        return next((n for n in self.names if predicate(n)), None)

    def any_prefix(self, *prefixes: str) -> bool:
        return any(n.startswith(prefixes) for n in self.names)

    def any_contains(self, text: str) -> bool:
        return any(text in n for n in self.names)


def detect(header: SafetensorsHeader) -> Detection:
    """Classify a safetensors file from its header (see the module docstring)."""
    keys = _Keys(header)
    result = (
        _detect_adapter(keys)
        or _detect_controlnet(keys)
        or _detect_diffusion(keys)
        or _detect_vae(keys)
        or _detect_text_encoder(keys)
        or _detect_embedding(keys)
        or _detect_other(keys)
        or Detection(kind="unknown", evidence="no known key pattern")
    )
    if result.kind in ("lora", "lycoris", "checkpoint", "diffusion_model"):
        family, evidence = _family_from_metadata(header.metadata)
        # Keys alone cannot tell a Chroma or HunyuanVideo LoRA on attention only from a FLUX.1 one.
        if family and (result.family is None or (result.family == "flux1" and family in FLUX_LAYOUT_FAMILIES)):
            result.family = family
            result.evidence = (result.evidence + "; " if result.evidence else "") + evidence
    result.dtype, result.params, result.tensors = _dtype_and_params(header)
    return result


def _dtype_and_params(header: SafetensorsHeader) -> tuple[str | None, int, int]:
    by_bytes: Counter[str] = Counter()
    params = 0
    for info in header.tensors.values():
        by_bytes[info.dtype] += info.nbytes
        params += info.numel
    dtype = by_bytes.most_common(1)[0][0] if by_bytes else None
    return dtype, params, len(header.tensors)


# ------------------------------------------------------------------ adapters


def _module_name(key: str) -> str:
    """``lora_unet_x.lora_down.weight`` -> ``lora_unet_x`` (the adapted module)."""
    for suffix in (
        ".lora_down.weight",
        ".lora_up.weight",
        ".lora_A.weight",
        ".lora_B.weight",
        ".lora.down.weight",
        ".lora.up.weight",
        ".alpha",
        ".dora_scale",
        ".lora_mid.weight",
    ):
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key.rsplit(".", 1)[0]


def _detect_adapter(keys: _Keys) -> Detection | None:
    header = keys.header
    lora_down = [n for n in keys.names if n.endswith(_LORA_SUFFIXES)]
    marker_algo = None
    for name in keys.names:
        last = name.rsplit(".", 1)[-1]
        if last in _LYCORIS_MARKERS:
            marker_algo = _LYCORIS_MARKERS[last]
            break
    full_diff = (
        not lora_down
        and not marker_algo
        and any(n.endswith(".diff") for n in keys.names)
        and keys.any_prefix("lora_unet_", "lora_te")
    )
    if not lora_down and not marker_algo and not full_diff:
        return None

    ranks: Counter[int] = Counter()
    if lora_down:
        for name in lora_down:
            shape = keys.shape(name)
            if shape:
                ranks[shape[0]] += 1
    elif marker_algo == "loha":
        for name in keys.names:
            if name.endswith(".hada_w1_b"):
                ranks[keys.shape(name)[0]] += 1
    elif marker_algo == "lokr":
        for name in keys.names:
            if name.endswith((".lokr_w2_b", ".lokr_w1_b")):
                ranks[keys.shape(name)[0]] += 1

    network_module = header.metadata.get("ss_network_module")
    if marker_algo:
        algo, kind = marker_algo, "lycoris"
    elif full_diff:
        algo, kind = "full", "lycoris"
    elif keys.any_contains(".dora_scale"):
        algo, kind = "dora", "lora"
    elif _has_conv_lora(keys, lora_down) or (network_module or "").startswith("lycoris"):
        algo, kind = "locon", "lycoris"
    else:
        algo, kind = "lora", "lora"

    modules = {_module_name(n) for n in keys.names if not n.endswith(".alpha")}
    info = LoraInfo(
        algo=algo,
        rank=ranks.most_common(1)[0][0] if ranks else None,
        alpha=_alpha(keys),
        ranks=sorted(ranks),
        modules=len(modules),
        text_encoder=keys.any_prefix("lora_te", "text_encoder", "te1.", "te2.", "lora_te1_", "lora_te2_"),
        network_module=network_module,
    )
    family, evidence = _adapter_family(keys)
    return Detection(kind=kind, family=family, evidence=evidence, lora=info)


def _has_conv_lora(keys: _Keys, lora_down: list[str]) -> bool:
    """kohya LoCon: a 3x3 conv down-projection (plain LoRA only adapts linear / 1x1 layers)."""
    for name in lora_down:
        shape = keys.shape(name) or ()
        if len(shape) == 4 and shape[2:] != (1, 1):
            return True
    return False


def _alpha(keys: _Keys) -> float | None:
    raw = keys.header.metadata.get("ss_network_alpha")
    if raw not in (None, "", "None"):
        try:
            return float(raw)
        except ValueError:
            pass
    alpha_key = keys.first(lambda n: n.endswith(".alpha"))
    if alpha_key is None:
        return None
    try:
        return read_scalar(keys.header, alpha_key)
    except OSError:
        return None


def _adapter_family(keys: _Keys) -> tuple[str | None, str]:
    names = keys.names
    found = dit_adapter_family(keys)  # first: their block names overlap FLUX.1's and SD's attn2
    if found:
        return found
    hit = keys.first(
        lambda n: (
            n.startswith(("lora_unet_double_blocks_", "lora_unet_single_blocks_")) or _FLUX_DOTTED.match(n) is not None
        )
    )
    if hit:
        return "flux1", f"key {hit}"
    hit = keys.first(lambda n: ".single_transformer_blocks." in n or n.startswith("single_transformer_blocks."))
    if hit:
        return "flux1", f"key {hit}"
    hit = keys.first(lambda n: n.startswith("lora_unet_joint_blocks_") or ".joint_blocks." in n)
    if hit:
        return "sd3", f"key {hit}"
    # Cross-attention key projections take the text encoder's width.
    for name in names:
        if ("attn2_to_k" in name or "attn2.to_k" in name) and name.endswith(_LORA_SUFFIXES + (".hada_w1_b",)):
            shape = keys.shape(name) or ()
            width = shape[1] if len(shape) >= 2 else None
            if name.endswith(".hada_w1_b"):
                width = shape[1] if len(shape) >= 2 else None
            if width in _CONTEXT_DIM_FAMILY:
                return _CONTEXT_DIM_FAMILY[width], f"{name} has {width} inputs"
    # PEFT transformer LoRAs: the hidden width separates FLUX (3072) from SD3 (1536 / 2432).
    for name in names:
        if re.search(r"transformer_blocks\.\d+\.attn\.to_q\.lora_A\.weight$", name):
            width = (keys.shape(name) or (0, 0))[1]
            if width == 3072:
                return "flux1", f"{name} has 3072 inputs"
            if width in (1536, 2432):
                return "sd3", f"{name} has {width} inputs"
    hit = keys.first(lambda n: n.startswith(("lora_te1_", "lora_te2_", "text_encoder_2.")))
    if hit:
        return "sdxl", f"key {hit}"
    hit = keys.first(
        lambda n: n.startswith(("lora_unet_input_blocks_", "lora_unet_output_blocks_", "lora_unet_middle_block_"))
    )
    if hit:
        return "sdxl", f"key {hit} (LDM block names are used by SDXL LoRAs)"
    return None, ""


def _family_from_metadata(meta: dict[str, str]) -> tuple[str | None, str]:
    arch = meta.get("modelspec.architecture", "").lower()
    version = meta.get("ss_base_model_version", "").lower()
    for text, field_name in ((arch, "modelspec.architecture"), (version, "ss_base_model_version")):
        if not text:
            continue
        dit = dit_family_from_metadata(text)
        if dit:
            family = dit
        elif "flux" in text:
            family = "flux1"
        elif "refiner" in text:
            family = "sdxl_refiner"
        elif "xl" in text:
            family = "sdxl"
        elif "stable-diffusion-3" in text or text.startswith("sd3"):
            family = "sd3"
        elif "v2" in text:
            family = "sd2"
        elif "v1" in text:
            family = "sd1"
        else:
            continue
        return family, f"metadata {field_name}={meta.get(field_name)}"
    return None, ""


# ------------------------------------------------------------------ full models


def _context_width(keys: _Keys, *candidates: str) -> int | None:
    for name in candidates:
        shape = keys.shape(name)
        if shape and len(shape) >= 2:
            return shape[1]
    return None


def _detect_controlnet(keys: _Keys) -> Detection | None:
    hint = keys.first(
        lambda n: n.endswith("input_hint_block.0.weight") or n == "controlnet_cond_embedding.conv_in.weight"
    )
    if hint is None:
        if keys.has("controlnet_x_embedder.weight") or keys.any_prefix(
            "controlnet_blocks.", "controlnet_single_blocks."
        ):
            family = (
                "flux1"
                if keys.any_prefix("controlnet_single_blocks.", "single_transformer_blocks.")
                or keys.has("controlnet_x_embedder.weight")
                else None
            )
            return Detection(kind="controlnet", family=family, evidence="key controlnet_x_embedder / controlnet_blocks")
        return None
    width = _context_width(
        keys,
        "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight",
        "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight",
        "control_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight",
        "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight",
        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
        "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
    )
    family = _CONTEXT_DIM_FAMILY.get(width) if width else None
    if family is None and (keys.has("add_embedding.linear_1.weight") or keys.any_contains("label_emb.0.0.weight")):
        family = "sdxl"
    return Detection(
        kind="controlnet", family=family, evidence=f"key {hint}" + (f", context width {width}" if width else "")
    )


_EXTRA_COMPONENT_PREFIXES = (
    "first_stage_model.",
    "cond_stage_model.",
    "conditioner.",
    "text_encoders.",
    "vae.",
)


def _detect_diffusion(keys: _Keys) -> Detection | None:
    prefix = "model.diffusion_model." if keys.any_prefix("model.diffusion_model.") else ""
    bundled = keys.any_prefix(*_EXTRA_COMPONENT_PREFIXES)
    kind = "checkpoint" if bundled else "diffusion_model"

    def k(name: str) -> str:
        return prefix + name

    dit = dit_model_family(keys, prefix)
    if dit:
        family, variant, evidence = dit
        return Detection(kind=kind, family=family, variant=variant, evidence=evidence)
    if keys.has(k("double_blocks.0.img_attn.qkv.weight")):
        variant = "dev" if keys.has(k("guidance_in.in_layer.weight")) else "schnell"
        return Detection(
            kind=kind, family="flux1", variant=variant, evidence=f"key {k('double_blocks.0.img_attn.qkv.weight')}"
        )
    if keys.has("single_transformer_blocks.0.attn.to_q.weight") and keys.has("transformer_blocks.0.attn.to_q.weight"):
        variant = "dev" if keys.any_prefix("time_text_embed.guidance_embedder.") else "schnell"
        return Detection(
            kind="diffusion_model", family="flux1", variant=variant, evidence="diffusers FLUX transformer keys"
        )
    if keys.has(k("joint_blocks.0.context_block.attn.qkv.weight")):
        width = (keys.shape(k("x_embedder.proj.weight")) or (None,))[0]
        variant = {1536: "medium", 2432: "large"}.get(width)
        return Detection(
            kind=kind,
            family="sd3",
            variant=variant,
            evidence=f"key {k('joint_blocks.0.context_block.attn.qkv.weight')}",
        )

    if keys.has(k("input_blocks.0.0.weight")):
        in_channels = (keys.shape(k("input_blocks.0.0.weight")) or (0, 4))[1]
        variant = "inpaint" if in_channels == 9 else None
        label = keys.shape(k("label_emb.0.0.weight"))
        if label:
            family = "sdxl_refiner" if label[1] == 2560 else "sdxl"
            return Detection(
                kind=kind, family=family, variant=variant, evidence=f"{k('label_emb.0.0.weight')} has {label[1]} inputs"
            )
        width = _context_width(
            keys,
            k("input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"),
            k("input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight"),
        )
        family = _CONTEXT_DIM_FAMILY.get(width) if width else None
        if family is None and keys.any_prefix("cond_stage_model.model."):
            family = "sd2"
        evidence = f"attn2.to_k has {width} inputs" if width else f"key {k('input_blocks.0.0.weight')}"
        return Detection(kind=kind, family=family, variant=variant, evidence=evidence)

    if keys.has("conv_in.weight") and keys.any_prefix("down_blocks.0."):
        # A diffusers-layout UNet saved as one file.
        if keys.has("add_embedding.linear_1.weight"):
            family = "sdxl_refiner" if (keys.shape("add_embedding.linear_1.weight") or (0, 0))[1] == 2560 else "sdxl"
            return Detection(kind="diffusion_model", family=family, evidence="diffusers UNet with add_embedding")
        width = _context_width(
            keys,
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
            "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
        )
        if width is not None:
            return Detection(
                kind="diffusion_model",
                family=_CONTEXT_DIM_FAMILY.get(width),
                evidence=f"diffusers UNet, attn2.to_k has {width} inputs",
            )
    return None


def _detect_vae(keys: _Keys) -> Detection | None:
    ldm = keys.has("encoder.conv_in.weight") and keys.has("decoder.conv_out.weight")
    prefixed = keys.has("first_stage_model.encoder.conv_in.weight") and not keys.any_prefix("model.diffusion_model.")
    if not (ldm or prefixed):
        return None
    p = "first_stage_model." if prefixed and not ldm else ""
    latent = (keys.shape(p + "decoder.conv_in.weight") or (0, 0))[1]
    variant = f"{latent}-channel latents" if latent else None
    family = None
    evidence = f"key {p}encoder.conv_in.weight"
    if latent == 16:
        variant = "16-channel latents (FLUX.1 / SD3)"
    elif latent == 4:
        variant = "4-channel latents (SD1.x / SD2.x / SDXL)"
    return Detection(kind="vae", family=family, variant=variant, evidence=evidence)


def _detect_text_encoder(keys: _Keys) -> Detection | None:
    for prefix in ("", "transformer.", "text_model.", "model."):
        token = keys.shape(prefix + "text_model.embeddings.token_embedding.weight") if prefix != "text_model." else None
        if token and keys.any_prefix(prefix + "text_model.encoder.layers."):
            width = token[1]
            variant = {768: "CLIP-L", 1024: "OpenCLIP-H", 1280: "CLIP-G"}.get(width, f"CLIP ({width} wide)")
            return Detection(
                kind="text_encoder",
                variant=variant,
                evidence=f"key {prefix}text_model.embeddings.token_embedding.weight",
            )
    if keys.any_prefix("transformer.resblocks.", "resblocks.") and (
        keys.has("token_embedding.weight") or keys.has("transformer.token_embedding.weight")
    ):
        width = (keys.shape("token_embedding.weight") or keys.shape("transformer.token_embedding.weight") or (0, 0))[1]
        variant = {1024: "OpenCLIP-H", 1280: "OpenCLIP-bigG"}.get(width, f"OpenCLIP ({width} wide)")
        return Detection(kind="text_encoder", variant=variant, evidence="OpenCLIP resblocks")
    q = keys.first(lambda n: n.startswith(("encoder.block.0.layer.0.SelfAttention.q.weight",)))
    if q:
        width = (keys.shape(q) or (0, 0))[1]
        variant = "T5-XXL" if width == 4096 else f"T5 ({width} wide)"
        return Detection(kind="text_encoder", variant=variant, evidence=f"key {q}")
    return None


def _detect_embedding(keys: _Keys) -> Detection | None:
    if keys.has("emb_params"):
        width = (keys.shape("emb_params") or (0,))[-1]
        family = {768: "sd1", 1024: "sd2"}.get(width)
        return Detection(kind="embedding", family=family, evidence=f"emb_params is {width} wide")
    if keys.has("clip_l") and keys.has("clip_g"):
        return Detection(kind="embedding", family="sdxl", evidence="keys clip_l and clip_g")
    hit = keys.first(lambda n: n.startswith("string_to_param."))
    if hit:
        width = (keys.shape(hit) or (0,))[-1]
        return Detection(kind="embedding", family={768: "sd1", 1024: "sd2"}.get(width), evidence=f"key {hit}")
    return None


def _detect_other(keys: _Keys) -> Detection | None:
    if keys.has("vision_model.embeddings.patch_embedding.weight") or keys.has("visual.conv1.weight"):
        return Detection(kind="clip_vision", evidence="CLIP vision tower keys")
    if keys.has("conv_first.weight") or (keys.has("model.0.weight") and keys.any_contains(".RDB1.")):
        return Detection(kind="upscaler", evidence="ESRGAN-style keys")
    return None

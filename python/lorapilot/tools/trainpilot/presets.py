"""Presets: a sound starting profile per family × quality (quick/regular/high) × VRAM tier.

A preset fills rank, alpha, learning rate, optimizer, steps scaled to the dataset size,
resolution and buckets, precision, gradient checkpointing, caching, sample prompts and the
save cadence. The result is an ordinary :class:`Profile`: every field stays editable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lorapilot.kit.errors import LorapilotError

from .datasets import DatasetInfo
from .families import FAMILIES, QUALITIES, VRAM_TIERS, Family, get_family
from .profiles import (
    DatasetRef,
    ModelRef,
    NetworkSettings,
    OptimSettings,
    Profile,
    SampleSettings,
    SaveSettings,
    TrainingSettings,
)

# How often each image is seen (steps × batch / images) and the bounds on the step count.
_SEEN_PER_IMAGE = {"quick": 40, "regular": 80, "high": 120}
_STEP_BOUNDS = {"quick": (250, 1500), "regular": (500, 3000), "high": (1000, 6000)}
# Flow-matching transformers learn a subject in fewer steps.
_FAMILY_STEP_FACTOR = {
    "sd15": 1.0,
    "sd2": 1.0,
    "sdxl": 1.0,
    "sd3": 1.0,
    "flux1": 0.75,
    "chroma": 0.75,
    "wan21": 0.75,
    "lumina2": 1.0,
    "hidream": 0.75,
    "hunyuanvideo": 0.75,
    "ltxvideo": 0.75,
    "qwenimage": 0.75,
    "wan22": 0.75,
    "flux2": 0.75,
    "zimage": 0.75,
}
_RANK = {"quick": 8, "regular": 16, "high": 32}
_LR = {
    "sd15": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "sdxl": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "sd3": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "flux1": {"quick": 4e-4, "regular": 2e-4, "high": 1e-4},
    "sd2": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "chroma": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "wan21": {"quick": 1e-4, "regular": 5e-5, "high": 2e-5},  # Diffusion Pipe's Wan example trains at 2e-5
    "lumina2": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "hidream": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "hunyuanvideo": {"quick": 1e-4, "regular": 5e-5, "high": 2e-5},
    "ltxvideo": {"quick": 1e-4, "regular": 5e-5, "high": 2e-5},
    "qwenimage": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "wan22": {"quick": 1e-4, "regular": 5e-5, "high": 2e-5},
    "flux2": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
    "zimage": {"quick": 2e-4, "regular": 1e-4, "high": 1e-4},
}
_SAMPLE_GUIDANCE = {
    "sd15": 7.0,
    "sd2": 7.0,
    "sdxl": 7.0,
    "sd3": 5.0,
    "flux1": 3.5,
    "chroma": 4.0,
    "wan21": 5.0,
    "lumina2": 4.0,
    "hidream": 5.0,
    "hunyuanvideo": 6.0,
    "ltxvideo": 3.0,
    "qwenimage": 4.0,
    "wan22": 5.0,
    "flux2": 4.0,
    "zimage": 4.0,
}
# Bases that predict v: SD 2.x presets assume the common 768-v model (2.0/2.1 768); the 512 base predicts noise.
_V_PREDICTION = {"sd2"}


@dataclass(frozen=True)
class Preset:
    family: str
    quality: str
    vram_gb: int
    fits: bool
    reason: str = ""

    @property
    def id(self) -> str:
        return preset_id(self.family, self.quality, self.vram_gb)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "family": self.family,
            "family_title": FAMILIES[self.family].title,
            "quality": self.quality,
            "vram_gb": self.vram_gb,
            "fits": self.fits,
            "reason": self.reason,
        }


def preset_id(family: str, quality: str, vram_gb: int) -> str:
    return f"{family}-{quality}-{vram_gb}gb"


def parse_preset_id(text: str) -> tuple[str, str, int]:
    """``sdxl-regular-24gb`` → ("sdxl", "regular", 24); a clear error otherwise."""
    parts = text.split("-")
    if len(parts) != 3 or not parts[2].endswith("gb") or not parts[2][:-2].isdigit():
        raise LorapilotError(f"preset {text!r}: expected FAMILY-QUALITY-NNgb, e.g. sdxl-regular-24gb")
    family, quality, vram = parts[0], parts[1], int(parts[2][:-2])
    get_family(family)
    if quality not in QUALITIES:
        raise LorapilotError(f"preset {text!r}: quality must be one of {', '.join(QUALITIES)}")
    if vram not in VRAM_TIERS:
        raise LorapilotError(f"preset {text!r}: VRAM tier must be one of {', '.join(map(str, VRAM_TIERS))} GB")
    return family, quality, vram


def list_presets() -> list[Preset]:
    """Every family × quality × tier, marked whether it fits."""
    out = []
    for family in FAMILIES.values():
        for quality in QUALITIES:
            for vram in VRAM_TIERS:
                fits = vram in family.max_resolution
                reason = "" if fits else f"{family.title} needs at least the {family.min_vram} GB tier"
                out.append(Preset(family.id, quality, vram, fits, reason))
    return out


def scaled_steps(quality: str, family: str, num_images: int, batch_size: int) -> int:
    """Training steps for a dataset of ``num_images``: each image seen a set number of times, bounded."""
    low, high = _STEP_BOUNDS[quality]
    raw = _SEEN_PER_IMAGE[quality] * _FAMILY_STEP_FACTOR[family] * max(num_images, 0) / max(batch_size, 1)
    steps = min(max(raw, low), high)
    return int(math.ceil(steps / 50) * 50)


def _resolution(family: Family, quality: str, vram: int, wanted: int | None) -> int:
    cap = family.max_resolution[vram]
    if wanted:
        return min(int(wanted) // 64 * 64 or 64, cap)
    if family.id == "sd15":
        res = 768 if quality == "high" else 512
    elif family.id in ("flux1", "chroma", "wan21", "wan22") and quality == "quick":
        res = 512
    else:
        res = family.native_resolution
    return min(res, cap)


def _blocks_to_swap(family: str, vram_gb: int, native_flux: bool) -> int:
    """Transformer blocks kept on the CPU on the small tiers (estimates; nothing here was measured on a GPU)."""
    if native_flux:
        return 0
    if family in ("flux1", "chroma", "wan21"):
        return {12: 18, 16: 8}.get(vram_gb, 0)
    if family == "wan22":  # 40 blocks (A14B)
        return {16: 20, 24: 8}.get(vram_gb, 0)
    if family == "qwenimage":  # 60 blocks; Diffusion Pipe's 24 GB example swaps 8 with fp8 weights at 640 px
        return 8 if vram_gb <= 24 else 0
    if family == "flux2":  # 8 double + 48 single blocks; 32B in fp8 is ~32 GB
        return 24 if vram_gb <= 24 else 0
    if family == "hidream":  # 16 double + 32 single blocks; Diffusion Pipe: "enough block swapping" fits 24 GB
        return 24 if vram_gb <= 24 else 0
    if family == "hunyuanvideo":  # 20 double + 40 single blocks
        return 20 if vram_gb <= 16 else 0
    if family == "ltxvideo":  # small enough; Diffusion Pipe cannot swap its blocks
        return 0
    return 8 if FAMILIES[family].flow_matching and vram_gb <= 12 else 0


def _fp8_base(family: str, vram_gb: int) -> bool:
    """fp8 transformer weights: the flow-matching families on the small tiers, the big ones up to 24 GB, and
    FLUX.2 (32B: 64 GB in bf16) on every tier."""
    if not FAMILIES[family].flow_matching:
        return False
    if family == "flux2":
        return True
    return vram_gb <= 16 or (family in ("hidream", "hunyuanvideo", "qwenimage", "wan22") and vram_gb <= 24)


def _sample_prompts(trigger: str, dataset: DatasetInfo | None) -> list[str]:
    prompts = []
    for caption in (dataset.sample_captions if dataset else [])[:2]:
        prompts.append(caption if not trigger or trigger in caption else f"{trigger}, {caption}")
    if trigger:
        prompts.insert(0, trigger)
    return prompts or ["a photo"]


def build_profile(
    *,
    name: str,
    family: str,
    quality: str,
    vram_gb: int,
    model: ModelRef,
    dataset_name: str,
    dataset: DatasetInfo | None = None,
    trainer: str = "kohya",
    trigger_word: str | None = None,
) -> Profile:
    """A profile from the preset ``family``/``quality``/``vram_gb``, scaled to ``dataset``.

    ``dataset`` (from :func:`inspect_dataset`) supplies the image count, captions for sample
    prompts and TagPilot's handoff (trigger word, repeats, resolution).
    """
    fam = get_family(family)
    if quality not in QUALITIES:
        raise LorapilotError(f"quality must be one of {', '.join(QUALITIES)} (got {quality!r})")
    if vram_gb not in VRAM_TIERS:
        raise LorapilotError(f"VRAM tier must be one of {', '.join(map(str, VRAM_TIERS))} GB (got {vram_gb})")
    if vram_gb not in fam.max_resolution:
        raise LorapilotError(f"{fam.title} does not fit the {vram_gb} GB tier; it needs at least {fam.min_vram} GB")
    handoff = (dataset.handoff if dataset else None) or {}
    trigger = trigger_word if trigger_word is not None else (dataset.trigger_word if dataset else "")
    resolution = _resolution(fam, quality, vram_gb, handoff.get("resolution"))
    big = fam.flow_matching

    # The native trainer uses plain AdamW: a LoRA's optimizer state is small, and bitsandbytes / prodigyopt
    # are not in the train extra (validation refuses them where its environment lacks them). It holds
    # FLUX.1 in bf16 with no fp8 or block swapping (validation asks for 48+ GB): batch 1 next to the
    # ~24 GB transformer.
    native = trainer == "native"
    native_flux = native and family == "flux1"
    if vram_gb >= 48:
        batch = 1 if native_flux else 2 if big else 4
    elif vram_gb >= 24:
        batch = 1 if big else 2
    else:
        batch = 1
    num_images = dataset.num_images if dataset else 0
    steps = scaled_steps(quality, family, num_images, batch)
    every = max(50, int(round(steps / 5 / 50)) * 50)

    rank = _RANK[quality]
    if big and vram_gb <= 12:
        rank = min(rank, 16)
    alpha = float(rank if big else rank // 2)
    train_te = family in ("sd15", "sd2", "sdxl") and quality == "high" and vram_gb >= 16
    prodigy = quality == "high" and vram_gb >= 24 and not native
    lr = 1.0 if prodigy else _LR[family][quality]
    optim = OptimSettings(
        optimizer="prodigy" if prodigy else "adamw" if native else "adamw8bit",
        learning_rate=lr,
        text_encoder_lr=(lr if prodigy else lr / 2) if train_te else None,
        lr_scheduler="constant" if quality == "quick" or prodigy else "cosine",
        warmup_steps=0 if quality == "quick" or prodigy else steps // 20,
        min_snr_gamma=None if big else 5.0,
    )
    training = TrainingSettings(
        steps=steps,
        batch_size=batch,
        mixed_precision="bf16",
        gradient_checkpointing=not (family == "sd15" and vram_gb >= 48),
        cache_latents=True,
        cache_text=not train_te,
        fp8_base=_fp8_base(family, vram_gb) and not native_flux,
        blocks_to_swap=_blocks_to_swap(family, vram_gb, native_flux),
    )
    data = DatasetRef(
        name=dataset_name,
        caption_extension=(dataset.caption_extension if dataset else ".txt"),
        repeats=int(handoff.get("repeats") or 1),
        resolution=resolution,
        min_bucket=max(64, resolution // 2 // 64 * 64),
        max_bucket=min(resolution * 2, 4096),
        keep_tokens=1 if trigger else 0,
        shuffle_tags=quality != "quick" and bool(trigger),
        caption_dropout=0.05 if quality == "high" else 0.0,
        trigger_word=trigger,
    )
    if family in _V_PREDICTION and "v_prediction" not in model.model_fields_set:  # unless the caller knows
        model = model.model_copy(update={"v_prediction": True})
    return Profile(
        name=name,
        trainer=trainer,
        family=family,
        quality=quality,
        vram_gb=vram_gb,
        model=model,
        dataset=data,
        network=NetworkSettings(rank=rank, alpha=alpha, train_text_encoder=train_te),
        optim=optim,
        training=training,
        save=SaveSettings(every_n_steps=every, keep_last=3),
        sample=SampleSettings(
            prompts=_sample_prompts(trigger, dataset),
            every_n_steps=every,
            guidance=_SAMPLE_GUIDANCE[family],
            steps=20,
        ),
    )

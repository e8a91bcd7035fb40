"""Z-Image-Turbo: a step-distilled base both AI Toolkit and Diffusion Pipe train with a training adapter merged in."""

from __future__ import annotations

from pathlib import Path

from ..profiles import Profile
from .base import Issue


def turbo_issues(trainer_title: str, profile: Profile) -> list[Issue]:
    """Z-Image-Turbo is step-distilled: both trainers merge a training adapter into it (model.adapter); a Turbo base
    (by its name: the weights do not say) without one is warned about, an adapter on another family too."""
    if profile.family != "zimage":
        if profile.model.adapter:
            return [
                Issue("model.adapter", "a training adapter is used for Z-Image-Turbo only; it is ignored", "warning")
            ]
        return []
    if "turbo" in Path(profile.model.base).name.lower() and not profile.model.adapter:
        return [
            Issue(
                "model.adapter",
                f"models/{profile.model.base} looks like Z-Image-Turbo (step-distilled): {trainer_title} trains it well only with its training adapter merged in; set model.adapter (ostris' zimage_turbo_training_adapter_v1.safetensors)",
                "warning",
            )
        ]
    return []

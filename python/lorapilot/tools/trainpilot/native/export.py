"""Collect the trained adapters and save them as one kohya-format LoRA file."""

from __future__ import annotations

from pathlib import Path

import torch

from lorapilot.kit.fsutil import atomic_write_bytes

from . import kohya
from .metadata import addnet_hashes

SAVE_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
FILE_MODE = 0o644  # safetensors.save_file would leave 0600; inference UIs may run as another user


def kohya_tensors(family: str, denoiser, text_encoders: list, trained: list[bool], alpha: float, precision: str):
    """The kohya state dict of the current adapters (``denoiser``/``text_encoders`` unwrapped)."""
    from peft.utils import get_peft_model_state_dict

    dtype = SAVE_DTYPES[precision]
    denoiser_state = get_peft_model_state_dict(denoiser)
    if family == "flux1":
        tensors = kohya.flux_names(denoiser_state, alpha, dtype, lambda path: _out_features(denoiser, path))
    else:
        namer = kohya.sgm_unet_namer(denoiser.config) if family == "sdxl" else None
        tensors = kohya.to_kohya(denoiser_state, "lora_unet_", alpha, dtype, namer)
    prefixes = kohya.TEXT_ENCODER_PREFIXES[family]
    for encoder, is_trained, prefix in zip(text_encoders, trained, prefixes):
        if is_trained:
            state = get_peft_model_state_dict(encoder)
            tensors.update(kohya.to_kohya(state, prefix, alpha, dtype, kohya.clip_text_namer))
    return tensors


def _out_features(model, path: str) -> int:
    layer = model.get_submodule(path)
    return getattr(layer, "base_layer", layer).out_features


def save_lora(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """Write ``tensors`` with ``metadata`` (plus sd-scripts' hashes) atomically, mode 0644."""
    from safetensors.torch import save

    model_hash, legacy_hash = addnet_hashes(tensors, metadata)
    metadata = {**metadata, "sshs_model_hash": model_hash, "sshs_legacy_hash": legacy_hash}
    atomic_write_bytes(path, save(tensors, metadata), mode=FILE_MODE)
    return path

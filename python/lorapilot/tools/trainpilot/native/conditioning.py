"""Text conditioning per family, and SDXL's size conditioning.

SD1/SD2: the CLIP encoder's last hidden state. SDXL: both encoders' penultimate hidden states side by
side, the second encoder's pooled projection, and the six "time ids" (original size, crop, target
size). FLUX.1: the T5 hidden states and CLIP's pooled output.
"""

from __future__ import annotations

from typing import Any

import torch

from .images import TrainImage

FLUX_T5_MAX_LENGTH = 512


def tokenize(tokenizer, captions: list[str], max_length: int | None = None) -> torch.Tensor:
    return tokenizer(
        captions,
        padding="max_length",
        max_length=max_length or tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids


def encode_text(family: str, tokenizers: list, encoders: list, captions: list[str], device) -> dict[str, torch.Tensor]:
    """Encode ``captions``; the result's tensors have the batch first. Gradients flow when an encoder trains."""
    if family == "sdxl":
        hidden, pooled = [], None
        for tokenizer, encoder in zip(tokenizers, encoders):
            out = encoder(tokenize(tokenizer, captions).to(device), output_hidden_states=True)
            hidden.append(out.hidden_states[-2])
            pooled = out[0]  # text_embeds of CLIPTextModelWithProjection (the second encoder)
        return {"encoder_hidden_states": torch.cat(hidden, dim=-1), "text_embeds": pooled}
    if family == "flux1":
        clip_tok, t5_tok = tokenizers
        clip, t5 = encoders
        pooled = clip(tokenize(clip_tok, captions).to(device), output_hidden_states=False).pooler_output
        t5_len = min(FLUX_T5_MAX_LENGTH, t5_tok.model_max_length)
        hidden = t5(tokenize(t5_tok, captions, t5_len).to(device), output_hidden_states=False)[0]
        return {"encoder_hidden_states": hidden, "pooled_projections": pooled}
    (tokenizer,), (encoder,) = tokenizers, encoders
    return {"encoder_hidden_states": encoder(tokenize(tokenizer, captions).to(device))[0]}


def size_conditioning(family: str, image: TrainImage) -> dict[str, torch.Tensor]:
    """Per-image conditioning that does not come from text (SDXL's time ids)."""
    if family != "sdxl":
        return {}
    width, height = image.size  # the original size, before scaling (as kohya and diffusers use it)
    left, top = image.placement.crop
    bucket_w, bucket_h = image.placement.bucket
    return {"time_ids": torch.tensor([height, width, top, left, bucket_h, bucket_w], dtype=torch.float32)}


def stack(rows: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Batch per-sample dicts of tensors."""
    return {key: torch.stack([row[key] for row in rows]) for key in rows[0]}


def unbatch(batch: dict[str, Any], index: int) -> dict[str, torch.Tensor]:
    return {key: value[index] for key, value in batch.items()}

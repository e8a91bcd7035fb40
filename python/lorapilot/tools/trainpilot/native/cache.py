"""Latent and text-embedding caches.

Latents are computed once per image and kept on disk under ``output_dir/cache/latents`` (keyed by the
image file, its bucket and the VAE), so a resumed run or a second process reuses them. In a
multi-process run each process encodes its share, then all read every file. Text embeddings are
cheap to redo and stay in memory; they can only be cached while the text encoders are frozen and
captions are not shuffled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from .conditioning import encode_text
from .images import TrainImage, load_pixels
from .models import BaseModel

log = logging.getLogger(__name__)

ENCODE_BATCH = 8


def latent_key(model: BaseModel, image: TrainImage) -> str:
    stat = image.path.stat()
    ident = [
        str(image.path.resolve()),
        stat.st_mtime_ns,
        stat.st_size,
        image.placement.bucket,
        image.placement.scaled,
        image.placement.crop,
        str(model.source.resolve()),
        model.vae.config.get("_name_or_path", ""),
        dict(model.vae.config),
    ]
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:32]


@torch.no_grad()
def encode_pixels(model: BaseModel, pixels: torch.Tensor, seeds: list[int] | None = None) -> torch.Tensor:
    """VAE-encode a batch [B, 3, H, W] into scaled (and shifted) latents.

    With ``seeds`` each latent is drawn from the VAE's distribution with its own seed, so the cache
    is the same every time it is built.
    """
    vae = model.vae
    dist = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist
    if seeds is None:
        latents = dist.sample()
    else:
        noise = torch.stack(
            [torch.randn(dist.mean.shape[1:], generator=torch.Generator().manual_seed(s)) for s in seeds]
        ).to(dist.mean.device, dist.mean.dtype)
        latents = dist.mean + dist.std * noise
    shift = vae.config.get("shift_factor") or 0.0
    return (latents - shift) * vae.config.scaling_factor


def build_latent_cache(
    model: BaseModel,
    images: list[TrainImage],
    cache_dir: Path,
    *,
    rank: int,
    world: int,
    wait_for_everyone,
    dtype: torch.dtype,
) -> list[torch.Tensor]:
    """Return one latent [C, h, w] per image (on the CPU), encoding the ones not yet on disk."""
    from safetensors.torch import load_file

    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = [latent_key(model, image) for image in images]
    files = [cache_dir / f"{key}.safetensors" for key in keys]
    mine = [i for i in range(len(images)) if i % world == rank and not files[i].is_file()]
    if mine:
        log.info("caching latents for %d images", len(mine))
    _encode_to_files(model, images, keys, files, mine, dtype)
    wait_for_everyone()
    # Files another process should have written may be missing when output_dir is not shared.
    missing = [i for i in range(len(images)) if not files[i].is_file()]
    _encode_to_files(model, images, keys, files, missing, dtype)
    return [load_file(str(path))["latent"] for path in files]


def _encode_to_files(model, images, keys, files, indices, dtype) -> None:
    from safetensors.torch import save_file

    by_bucket: dict[tuple[int, int], list[int]] = {}
    for i in indices:
        by_bucket.setdefault(images[i].placement.bucket, []).append(i)
    for group in by_bucket.values():
        for start in range(0, len(group), ENCODE_BATCH):
            chunk = group[start : start + ENCODE_BATCH]
            pixels = torch.stack([load_pixels(images[i]) for i in chunk])
            seeds = [int(keys[i][:8], 16) for i in chunk]
            latents = encode_pixels(model, pixels, seeds).to("cpu", dtype)
            for i, latent in zip(chunk, latents):
                tmp = files[i].with_name(f".{files[i].name}.{os.getpid()}.tmp")
                save_file({"latent": latent.contiguous()}, str(tmp))
                os.replace(tmp, files[i])


@torch.no_grad()
def build_text_cache(model: BaseModel, captions: list[str], device) -> dict[str, dict[str, torch.Tensor]]:
    """Embeddings of every distinct caption (and the empty one, for caption dropout), on the CPU."""
    unique = sorted(set(captions) | {""})
    cache: dict[str, dict[str, torch.Tensor]] = {}
    for start in range(0, len(unique), ENCODE_BATCH):
        chunk = unique[start : start + ENCODE_BATCH]
        encoded = encode_text(model.family, model.tokenizers, model.text_encoders, chunk, device)
        for row, caption in enumerate(chunk):
            cache[caption] = {key: value[row].to("cpu") for key, value in encoded.items()}
    return cache

"""Turn a batch of image indices into (latents, conditioning) on the training device."""

from __future__ import annotations

import contextlib
import random

import torch

from .cache import encode_pixels
from .captions import prepare_caption
from .conditioning import encode_text, size_conditioning, stack
from .config import NativeTrainConfig
from .images import TrainImage, load_pixels
from .models import BaseModel


class BatchMaker:
    """Assembles training batches from the caches, or encodes on the fly what is not cached.

    Caption choices (dropout, shuffle) draw from a generator seeded by (seed, process, micro-batch),
    so a resumed run makes the same choices without saving any generator state.
    """

    def __init__(
        self,
        config: NativeTrainConfig,
        model: BaseModel,
        images: list[TrainImage],
        encoders: list,
        device,
        *,
        latents: list[torch.Tensor] | None,
        text_cache: dict[str, dict[str, torch.Tensor]] | None,
        rank: int,
    ):
        self.config = config
        self.model = model
        self.images = images
        self.encoders = encoders  # the (possibly DDP-wrapped) text encoders to call
        self.device = device
        self.latents = latents
        self.text_cache = text_cache
        self.rank = rank
        self.size_cond = [size_conditioning(model.family, image) for image in images]
        self.text_trained = any(model.text_encoder_trained)

    def captions(self, micro_batch: int, indices: list[int]) -> list[str]:
        data = self.config.dataset
        rng = random.Random(f"{self.config.training.seed}:{self.rank}:{micro_batch}")
        return [
            prepare_caption(
                self.images[i].caption,
                shuffle=data.shuffle_tags,
                keep_tokens=data.keep_tokens,
                dropout=data.caption_dropout,
                rng=rng,
            )
            for i in indices
        ]

    def __call__(self, micro_batch: int, indices: list[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.latents is not None:
            latents = torch.stack([self.latents[i] for i in indices])
        else:
            latents = encode_pixels(self.model, torch.stack([load_pixels(self.images[i]) for i in indices]))
        latents = latents.to(self.device, torch.float32, non_blocking=True)
        captions = self.captions(micro_batch, indices)
        if self.text_cache is not None:
            cond = stack([self.text_cache[c] for c in captions])
            cond = {k: v.to(self.device, non_blocking=True) for k, v in cond.items()}
        else:
            grad = contextlib.nullcontext() if self.text_trained else torch.no_grad()
            with grad:
                cond = encode_text(self.model.family, self.model.tokenizers, self.encoders, captions, self.device)
        if self.size_cond[indices[0]]:
            extra = stack([self.size_cond[i] for i in indices])
            cond.update({k: v.to(self.device) for k, v in extra.items()})
        return latents, cond

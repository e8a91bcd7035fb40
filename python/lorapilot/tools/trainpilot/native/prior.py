"""Prior preservation: every micro-batch also trains on a batch of regularization (class) images.

DreamBooth's prior-preservation loss: ``loss = loss(instance batch) + prior_loss_weight * loss(class batch)``.
The class batch comes from its own deterministic :class:`BatchPlan` (seeded apart from the instance plan,
indexed by the same micro-batch counter), so a resumed run draws the same class batches it would have drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import torch

from lorapilot.kit.errors import ConfigError

from .batches import BatchMaker
from .buckets import BatchPlan
from .config import NativeTrainConfig
from .images import TrainImage, scan_images

PRIOR_SEED_OFFSET = 7919  # the class plan shuffles apart from the instance plan of the same seed


def scan_regularization(config: NativeTrainConfig) -> list[TrainImage]:
    """The regularization images, read with the dataset's caption and bucket settings; [] when none is set."""
    reg = config.regularization
    if reg is None:
        return []
    settings = config.dataset.model_copy(update={"image_dir": reg.image_dir, "repeats": reg.repeats})
    try:
        images = scan_images(settings)
    except ConfigError as exc:
        # scan_images names dataset.image_dir; the folder at fault is regularization.image_dir.
        raise ConfigError(None, str(exc).replace("dataset.image_dir", "regularization.image_dir")) from None
    fallback = reg.class_tokens.strip()
    return [replace(image, caption=fallback) if fallback and not image.caption else image for image in images]


class PriorBatches:
    """Yields (latents, conditioning) of the class batch that goes with one micro-batch."""

    def __init__(
        self, config: NativeTrainConfig, images: list[TrainImage], maker: BatchMaker, *, rank: int, world: int
    ):
        reg = config.regularization
        assert reg is not None
        self.weight = reg.prior_loss_weight
        self.maker = maker
        self.plan = BatchPlan(
            [image.placement.bucket for image in images],
            repeats=reg.repeats,
            batch_size=config.training.batch_size,
            seed=config.training.seed + PRIOR_SEED_OFFSET,
            rank=rank,
            world=world,
        )
        self._batches: Iterator[tuple[int, list[int]]] | None = None

    def start(self, micro_batch: int) -> None:
        """Continue from ``micro_batch`` (0 for a new run, step * accumulation for a resumed one)."""
        self._batches = self.plan.iterate(micro_batch)

    def next(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        assert self._batches is not None, "start() first"
        micro, indices = next(self._batches)
        return self.maker(micro, indices)

    def weighted_loss(self, objective, denoiser) -> torch.Tensor:
        """``prior_loss_weight`` times the objective on the next class batch."""
        latents, cond = self.next()
        return self.weight * objective(denoiser, latents, cond)

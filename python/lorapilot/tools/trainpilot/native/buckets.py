"""Aspect-ratio buckets and the order in which batches are drawn.

Buckets follow kohya's scheme: every (width, height) whose sides are multiples of ``step``, lie
between ``min_side`` and ``max_side``, and whose area does not exceed ``resolution**2``; each image
goes to the bucket with the nearest aspect ratio, is scaled to cover it and centre-cropped.

The batch order is a pure function of (seed, epoch), so a resumed run only needs the step count to
draw the same batches; each process of a multi-process run takes every ``world``-th batch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """Where one image lands: its bucket, the size it is scaled to, and the crop offset."""

    bucket: tuple[int, int]  # (width, height)
    scaled: tuple[int, int]  # (width, height) after scaling, before the crop
    crop: tuple[int, int]  # (left, top)


def make_buckets(resolution: int, step: int, min_side: int, max_side: int) -> list[tuple[int, int]]:
    """All bucket sizes (width, height) for a training ``resolution``, sorted."""
    max_area = resolution * resolution
    side = int(math.isqrt(max_area) // step) * step
    sizes = {(side, side)}
    width = min_side
    while width <= max_side:
        height = min(max_side, int((max_area // width) // step) * step)
        if height >= min_side:
            sizes.add((width, height))
            sizes.add((height, width))
        width += step
    return sorted(sizes)


def place_image(size: tuple[int, int], buckets: list[tuple[int, int]]) -> Placement:
    """Choose the bucket with the nearest aspect ratio and compute the cover-scale and centre crop."""
    width, height = size
    ratio = width / height
    bucket = min(buckets, key=lambda b: (abs(b[0] / b[1] - ratio), -b[0] * b[1]))
    scale = max(bucket[0] / width, bucket[1] / height)
    scaled = (max(bucket[0], round(width * scale)), max(bucket[1], round(height * scale)))
    crop = ((scaled[0] - bucket[0]) // 2, (scaled[1] - bucket[1]) // 2)
    return Placement(bucket=bucket, scaled=scaled, crop=crop)


class BatchPlan:
    """The deterministic, endless sequence of batches (lists of image indices) for one process."""

    def __init__(
        self,
        image_buckets: list[tuple[int, int]],
        *,
        repeats: int,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
    ):
        if not image_buckets:
            raise ValueError("no images to batch")
        self.groups: dict[tuple[int, int], list[int]] = {}
        for index, bucket in enumerate(image_buckets):
            self.groups.setdefault(bucket, []).extend([index] * repeats)
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world = world
        global_batches = sum(math.ceil(len(items) / batch_size) for items in self.groups.values())
        # Every process takes the same number of batches per epoch; short lists are padded by
        # repeating batches from their start.
        self.batches_per_epoch = math.ceil(global_batches / world)

    def epoch(self, epoch: int) -> list[list[int]]:
        """This process's batches of ``epoch`` (0-based)."""
        rng = random.Random(f"{self.seed}:{epoch}")
        batches: list[list[int]] = []
        for bucket in sorted(self.groups):
            items = list(self.groups[bucket])
            rng.shuffle(items)
            batches.extend(items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size))
        rng.shuffle(batches)
        needed = self.batches_per_epoch * self.world
        padded = [batches[i % len(batches)] for i in range(needed)]
        return padded[self.rank :: self.world]

    def iterate(self, start: int = 0) -> Iterator[tuple[int, list[int]]]:
        """Yield ``(micro_batch_index, batch)`` from ``start`` on, forever."""
        index = start
        cached_epoch, batches = -1, []
        while True:
            epoch, position = divmod(index, self.batches_per_epoch)
            if epoch != cached_epoch:
                cached_epoch, batches = epoch, self.epoch(epoch)
            yield index, batches[position]
            index += 1

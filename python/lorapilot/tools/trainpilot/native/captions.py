"""Caption handling: tag shuffling that keeps the first tokens in place, caption dropout, tag counts."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable


def split_tags(caption: str) -> list[str]:
    """Comma-separated tags, stripped, empty ones dropped."""
    return [tag.strip() for tag in caption.split(",") if tag.strip()]


def shuffle_caption(caption: str, keep_tokens: int, rng: random.Random) -> str:
    """Shuffle the comma-separated tags after the first ``keep_tokens`` ones (the trigger words).

    This is kohya's ``shuffle_caption`` with ``keep_tokens``: the kept tags stay first, in order.
    """
    tags = split_tags(caption)
    kept, rest = tags[:keep_tokens], tags[keep_tokens:]
    rng.shuffle(rest)
    return ", ".join(kept + rest)


def prepare_caption(
    caption: str,
    *,
    shuffle: bool,
    keep_tokens: int,
    dropout: float,
    rng: random.Random,
) -> str:
    """The caption one training step sees: ``""`` with probability ``dropout``, else maybe shuffled.

    The random draws happen in a fixed order whatever the settings, so a resumed run that seeds
    ``rng`` the same way makes the same choices.
    """
    drop = rng.random() < dropout
    if shuffle:
        caption = shuffle_caption(caption, keep_tokens, rng)
    return "" if drop else caption


def tag_frequency(captions: Iterable[str]) -> dict[str, int]:
    """How often each tag occurs (kohya's ``ss_tag_frequency`` for one folder)."""
    counts: Counter[str] = Counter()
    for caption in captions:
        counts.update(split_tags(caption))
    return dict(counts.most_common())

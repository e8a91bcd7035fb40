"""Video clips in a training dataset: which trainer takes them for which family, and what else to do.

Only Diffusion Pipe reads clips beside images (its ``frame_buckets``) for the video families; every
other trainer/family pair is refused by name, with the two ways forward.
"""

from __future__ import annotations

from .adapters import ADAPTERS, Issue, TrainerAdapter
from .datasets import DatasetInfo
from .families import Family


def clip_trainers(family_id: str) -> list[str]:
    """Titles of the trainers that train ``family_id`` on clips."""
    return [a.title for a in ADAPTERS.values() if family_id in a.clip_families]


def clip_issues(adapter: TrainerAdapter, family: Family, info: DatasetInfo) -> list[Issue]:
    """An error when ``info`` holds clips that ``adapter`` cannot train ``family`` on."""
    if not info.num_clips or family.id in adapter.clip_families:
        return []
    examples = ", ".join(info.clips[:3])
    if adapter.clip_families:  # it takes clips, but not for this family
        reason = f"{adapter.title} trains {family.title} on still images only"
    else:
        reason = f"{adapter.title} {adapter.no_clips_reason}"
    others = clip_trainers(family.id)
    way = f"train with {' or '.join(others)}, or " if others else ""
    return [
        Issue(
            "dataset.name",
            f"dataset {info.name!r} holds {info.num_clips} video clip(s) (e.g. {examples}): {reason}; "
            f"{way}extract frames into a still dataset (lorapilot tagpilot frames {info.name} --every N --into NEW)",
        )
    ]

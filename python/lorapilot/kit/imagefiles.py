"""Which files are images: the one list every tool uses (TagPilot, TrainPilot, the native trainer, MediaPilot)."""

from __future__ import annotations

from pathlib import Path

# Suffix → Pillow format name. Every trainer LoRA Pilot drives reads these.
IMAGE_FORMATS: dict[str, str] = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp", ".bmp": "bmp"}
IMAGE_EXTENSIONS: tuple[str, ...] = tuple(IMAGE_FORMATS)


def is_image_name(name: str) -> bool:
    """Whether a file name has an image suffix (any case); hidden files (``.x.png``) are not images."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def is_image_path(path: Path) -> bool:
    """:func:`is_image_name` of ``path``'s last part."""
    return is_image_name(path.name)

"""The training images: find them with their captions, place them in buckets, load them as tensors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.imagefiles import IMAGE_EXTENSIONS, is_image_name
from lorapilot.kit.safepath import confined_entries, escapes

from .buckets import Placement, make_buckets, place_image
from .config import DatasetSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainImage:
    path: Path
    caption: str
    size: tuple[int, int]  # original (width, height)
    placement: Placement


def bucket_sizes(settings: DatasetSettings) -> list[tuple[int, int]]:
    """The buckets in use: kohya-style ones, or the single square ``resolution`` without bucketing."""
    if not settings.buckets:
        return [(settings.resolution, settings.resolution)]
    sizes = make_buckets(settings.resolution, settings.bucket_step, settings.min_bucket, settings.max_bucket)
    if not sizes:
        raise ConfigError(
            None,
            f"dataset: no bucket fits resolution {settings.resolution} between min_bucket "
            f"{settings.min_bucket} and max_bucket {settings.max_bucket}",
        )
    return sizes


def scan_images(settings: DatasetSettings) -> list[TrainImage]:
    """Every image in ``image_dir`` (sorted by name) with its caption sidecar and bucket.

    A missing caption file counts as an empty caption (logged); an empty folder is an error.
    """
    from PIL import Image

    folder = settings.image_dir
    if not folder.is_dir():
        raise ConfigError(None, f"dataset.image_dir: {folder} is not a folder")
    # Links that lead out of the folder are not training images (TrainPilot exports real files).
    paths = sorted(Path(e.path) for e in confined_entries(folder, folder) if is_image_name(e.name) and e.is_file())
    if not paths:
        raise ConfigError(None, f"dataset.image_dir: {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    buckets = bucket_sizes(settings)
    images = []
    uncaptioned = 0
    for path in paths:
        caption_path = path.with_suffix(settings.caption_extension)
        if caption_path.is_file() and not escapes(caption_path, folder):
            caption = caption_path.read_text(encoding="utf-8").strip()
        else:
            caption, uncaptioned = "", uncaptioned + 1
        try:
            with Image.open(path) as img:
                size = _oriented_size(img)
        except OSError as exc:
            raise ConfigError(path, f"cannot read image: {exc}") from None
        images.append(TrainImage(path=path, caption=caption, size=size, placement=place_image(size, buckets)))
    if uncaptioned:
        log.warning(
            "%d of %d images in %s have no %s caption", uncaptioned, len(paths), folder, settings.caption_extension
        )
    return images


def _oriented_size(img) -> tuple[int, int]:
    # EXIF orientations 5-8 swap width and height.
    orientation = img.getexif().get(0x0112, 1)
    width, height = img.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def load_pixels(image: TrainImage):
    """The image scaled and cropped to its bucket, as a float tensor [3, H, W] in [-1, 1]."""
    import numpy as np
    import torch
    from PIL import Image, ImageOps

    with Image.open(image.path) as img:
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "P"):
            img = img.convert("RGBA")
            background = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, img)
        img = img.convert("RGB")
        place = image.placement
        if img.size != place.scaled:
            img = img.resize(place.scaled, Image.Resampling.LANCZOS)
        left, top = place.crop
        img = img.crop((left, top, left + place.bucket[0], top + place.bucket[1]))
        array = np.asarray(img, dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1).div(127.5).sub(1.0)

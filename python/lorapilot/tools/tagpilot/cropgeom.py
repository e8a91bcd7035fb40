"""Crop geometry: aspect presets, the largest box of an aspect around a focus point, and checks.

Pure functions on integers and floats (no images), so the crop editor's rules are pinned by plain tests.
Boxes are ``(x, y, width, height)`` in the pixels of the original image.
"""

from __future__ import annotations

from dataclasses import dataclass

from lorapilot.kit.errors import LorapilotError

FREE = "free"

# name -> (width, height) of the ratio. The named sizes are the common SDXL/Flux training buckets (about one
# megapixel each); the crop keeps the image's resolution, only the shape is the bucket's.
ASPECTS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "3:2": (3, 2),
    "2:3": (2, 3),
    "16:9": (16, 9),
    "9:16": (9, 16),
    "5:4": (5, 4),
    "4:5": (4, 5),
    "1152x896": (1152, 896),
    "896x1152": (896, 1152),
    "1216x832": (1216, 832),
    "832x1216": (832, 1216),
    "1344x768": (1344, 768),
    "768x1344": (768, 1344),
    "1536x640": (1536, 640),
    "640x1536": (640, 1536),
}
ASPECT_NAMES: tuple[str, ...] = (FREE, *ASPECTS)

CENTRE = (0.5, 0.5)


@dataclass(frozen=True)
class Box:
    """A crop rectangle in original-image pixels."""

    x: int
    y: int
    width: int
    height: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)

    def pil_box(self) -> tuple[int, int, int, int]:
        """Pillow's (left, upper, right, lower)."""
        return (self.x, self.y, self.x + self.width, self.y + self.height)


def check_aspect(aspect: str) -> str:
    """``aspect`` if it is a known preset, else an error listing the presets."""
    if aspect not in ASPECT_NAMES:
        raise LorapilotError(f"aspect {aspect!r} is not a preset; use one of: {', '.join(ASPECT_NAMES)}")
    return aspect


def check_focus(focus: tuple[float, float]) -> tuple[float, float]:
    """A focus point as fractions of width and height, each in 0..1."""
    for axis, value in zip(("x", "y"), focus, strict=True):
        if not 0.0 <= value <= 1.0:
            raise LorapilotError(f"focus {axis} = {value} is outside 0..1 (a fraction of the image's size)")
    return (float(focus[0]), float(focus[1]))


def check_box(box: tuple[int, int, int, int], width: int, height: int) -> Box:
    """``box`` checked against a ``width`` × ``height`` image: inside it and at least 1 px each way."""
    x, y, w, h = box
    if w < 1 or h < 1:
        raise LorapilotError(f"box {x},{y},{w},{h}: width and height must be at least 1 pixel")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise LorapilotError(
            f"box {x},{y},{w},{h} is outside the image ({width}×{height}): x+width and y+height must fit"
        )
    return Box(x, y, w, h)


def check_box_aspect(box: Box, aspect: str) -> None:
    """Refuse a box whose shape is not ``aspect`` (one pixel of rounding allowed each way)."""
    if aspect == FREE:
        return
    aw, ah = ASPECTS[aspect]
    if abs(box.width * ah - box.height * aw) > max(aw, ah):
        raise LorapilotError(f"box {box.width}×{box.height} is not aspect {aspect}")


def largest_box(width: int, height: int, aspect: str, focus: tuple[float, float] = CENTRE) -> Box:
    """The largest box of ``aspect`` inside a ``width`` × ``height`` image, centred on ``focus`` as far as
    the image's edges allow. ``free`` is the whole image."""
    check_aspect(aspect)
    fx, fy = check_focus(focus)
    if aspect == FREE:
        return Box(0, 0, width, height)
    aw, ah = ASPECTS[aspect]
    if width * ah >= height * aw:  # the image is wider than the aspect: full height
        h = height
        w = max(1, min(width, round(height * aw / ah)))
    else:
        w = width
        h = max(1, min(height, round(width * ah / aw)))
    x = _place(fx * width, w, width)
    y = _place(fy * height, h, height)
    return Box(x, y, w, h)


def _place(centre: float, size: int, limit: int) -> int:
    """The start of a span of ``size`` centred on ``centre``, clamped into ``0..limit``."""
    return int(min(max(round(centre - size / 2), 0), limit - size))

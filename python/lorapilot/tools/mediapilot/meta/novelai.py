"""NovelAI: ``Software: NovelAI``, ``Description`` (prompt), ``Comment`` JSON, ``Source`` (the model)."""

from __future__ import annotations

import json

from lorapilot.tools.mediapilot.meta.model import GenInfo, to_float, to_int, to_str

_KNOWN = {"prompt", "uc", "steps", "scale", "seed", "sampler", "width", "height", "noise_schedule", "strength"}


def is_novelai(texts: dict[str, str]) -> bool:
    return texts.get("Software", "").startswith("NovelAI") and "Comment" in texts


def parse_novelai(texts: dict[str, str]) -> GenInfo | None:
    """Fields from NovelAI's text chunks; None when ``Comment`` is not a JSON object."""
    try:
        comment = json.loads(texts["Comment"])
    except ValueError:
        return None
    if not isinstance(comment, dict):
        return None
    info = GenInfo(source="novelai")
    info.positive = to_str(comment.get("prompt")) or texts.get("Description", "")
    info.negative = to_str(comment.get("uc")) or ""
    info.steps = to_int(comment.get("steps"))
    info.cfg = to_float(comment.get("scale"))
    info.seed = to_int(comment.get("seed"))
    info.sampler = to_str(comment.get("sampler"))
    info.scheduler = to_str(comment.get("noise_schedule"))
    info.width, info.height = to_int(comment.get("width")), to_int(comment.get("height"))
    info.denoise = to_float(comment.get("strength"))
    info.model = texts.get("Source") or None
    for key, value in comment.items():
        if key not in _KNOWN and isinstance(value, (str, int, float, bool)):
            info.extra[key] = value
    return info.clip()

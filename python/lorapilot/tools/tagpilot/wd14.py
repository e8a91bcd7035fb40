"""WD14-style ONNX taggers (SmilingWolf's wd-*-tagger family and compatible models).

The user gives a model folder with ``model.onnx`` and ``selected_tags.csv``
(header ``tag_id,name,category,count``; category 9 = rating, 0 = general,
4 = character). Input is NHWC float32 ``[N, S, S, 3]``: the image composited
onto white, padded to a white square, resized to S, channels BGR, values
0–255. Outputs are sigmoid probabilities in CSV row order; the first four
rows are the ratings.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import ConfigError, LorapilotError
from lorapilot.tools.tagpilot.captioning import CaptionOutput, ImageError
from lorapilot.tools.tagpilot.imageio import decode_error, on_white, open_rgb

RATING, GENERAL, CHARACTER = 9, 0, 4

# Tags whose underscores are part of the face, not word separators.
KAOMOJI = {
    "0_0",
    "(o)_(o)",
    "+_+",
    "+_-",
    "._.",
    "<o>_<o>",
    "<|>_<|>",
    "=_=",
    ">_<",
    "3_3",
    "6_9",
    ">_o",
    "@_@",
    "^_^",
    "o_o",
    "u_u",
    "x_x",
    "|_|",
    "||_||",
}


@dataclass
class TagSet:
    names: list[str]
    categories: list[int]

    @property
    def rating_indexes(self) -> list[int]:
        return [i for i, c in enumerate(self.categories) if c == RATING]

    @property
    def general_indexes(self) -> list[int]:
        return [i for i, c in enumerate(self.categories) if c == GENERAL]

    @property
    def character_indexes(self) -> list[int]:
        return [i for i, c in enumerate(self.categories) if c == CHARACTER]


def load_tags(path: Path) -> TagSet:
    """Read ``selected_tags.csv``; errors name the file, line and field."""
    names, categories = [], []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"name", "category"} - set(reader.fieldnames or [])
            if missing:
                raise ConfigError(
                    path, f"missing column(s) {', '.join(sorted(missing))} (expected tag_id,name,category,count)"
                )
            for line, row in enumerate(reader, start=2):
                try:
                    categories.append(int(row["category"]))
                except (TypeError, ValueError):
                    raise ConfigError(path, f"line {line}: category {row['category']!r} is not an integer") from None
                names.append(row["name"])
    except FileNotFoundError:
        raise ConfigError(path, "not found (a WD14 model folder needs model.onnx and selected_tags.csv)") from None
    if not names:
        raise ConfigError(path, "has no tags")
    return TagSet(names, categories)


def display_tag(name: str) -> str:
    """Underscores become spaces, except in kaomoji like ``^_^``."""
    return name if name in KAOMOJI else name.replace("_", " ")


def mcut_threshold(probs) -> float:
    """Maximum Cut: the midpoint of the largest gap between sorted probabilities."""
    import numpy as np

    values = np.sort(np.asarray(probs, dtype=np.float64))[::-1]
    if len(values) < 2:
        return float(values[0]) if len(values) else 1.0
    gaps = values[:-1] - values[1:]
    t = int(gaps.argmax())
    return float((values[t] + values[t + 1]) / 2)


@dataclass
class TaggerOptions:
    general_threshold: float = 0.35
    character_threshold: float = 0.85
    general_mcut: bool = False
    character_mcut: bool = False
    include_rating: bool = False
    exclude: list[str] = field(default_factory=list)


@dataclass
class TagResult:
    rating: dict[str, float]
    general: list[tuple[str, float]]
    character: list[tuple[str, float]]

    def tags(self, include_rating: bool = False) -> list[str]:
        """Characters first, then general tags, each by falling probability."""
        out = [t for t, _ in self.character] + [t for t, _ in self.general]
        if include_rating and self.rating:
            out.insert(0, max(self.rating, key=self.rating.get))
        return out


def preprocess(image, size: int):
    """PIL image → float32 [size, size, 3] BGR 0–255 on a white square."""
    import numpy as np
    from PIL import Image

    rgb = on_white(image)
    side = max(rgb.size)
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(rgb, ((side - rgb.width) // 2, (side - rgb.height) // 2))
    if side != size:
        square = square.resize((size, size), Image.Resampling.BICUBIC)
    array = np.asarray(square, dtype=np.float32)
    return np.ascontiguousarray(array[:, :, ::-1])


class WD14Tagger:
    """A loaded tagger: ``tag_image(path)`` or, as a captioner, ``caption(path)``."""

    name = "wd14"

    def __init__(self, model_dir: Path, options: TaggerOptions | None = None, providers: list[str] | None = None):
        import onnxruntime as ort

        self.model_dir = Path(model_dir)
        self.options = options or TaggerOptions()
        model_path = self.model_dir / "model.onnx"
        if not model_path.is_file():
            raise ConfigError(model_path, "not found (a WD14 model folder needs model.onnx and selected_tags.csv)")
        self.tags = load_tags(self.model_dir / "selected_tags.csv")
        available = ort.get_available_providers()
        chosen = providers or [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        try:
            self.session = ort.InferenceSession(str(model_path), providers=chosen)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ConfigError(model_path, f"onnxruntime cannot load it: {exc}") from None
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        shape = model_input.shape
        if len(shape) != 4 or shape[3] != 3 or not isinstance(shape[1], int) or shape[1] != shape[2]:
            raise ConfigError(
                model_path, f"input {self.input_name!r} has shape {shape}; expected [N, S, S, 3] with a fixed S"
            )
        self.size = int(shape[1])
        outputs = self.session.get_outputs()[0].shape
        if isinstance(outputs[-1], int) and outputs[-1] != len(self.tags.names):
            raise ConfigError(
                self.model_dir / "selected_tags.csv",
                f"lists {len(self.tags.names)} tags but the model outputs {outputs[-1]}",
            )
        self._excluded = {display_tag(t.strip().replace(" ", "_")).lower() for t in self.options.exclude}

    def _load(self, path: Path):
        try:
            return preprocess(open_rgb(path), self.size)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is this image's problem only
            raise ImageError(f"cannot decode image: {decode_error(exc, path)}") from None

    def predict(self, batch) -> list[TagResult]:
        """Tag a float32 [N, S, S, 3] batch."""
        probs = self.session.run(None, {self.input_name: batch})[0]
        return [self._result(row) for row in probs]

    def tag_image(self, path: Path) -> TagResult:
        import numpy as np

        return self.predict(np.expand_dims(self._load(path), 0))[0]

    def caption(self, path: Path) -> CaptionOutput:
        return CaptionOutput(tags=self.tag_image(path).tags(self.options.include_rating))

    def _result(self, probs) -> TagResult:
        opts, tags = self.options, self.tags
        if len(probs) != len(tags.names):
            raise LorapilotError(f"model output has {len(probs)} values, selected_tags.csv has {len(tags.names)} tags")
        rating = {display_tag(tags.names[i]): float(probs[i]) for i in tags.rating_indexes}
        general_idx, character_idx = tags.general_indexes, tags.character_indexes
        general_t = mcut_threshold(probs[general_idx]) if opts.general_mcut and general_idx else opts.general_threshold
        character_t = opts.character_threshold
        if opts.character_mcut and character_idx:
            character_t = max(0.15, mcut_threshold(probs[character_idx]))
        return TagResult(
            rating=rating,
            general=self._pick(probs, general_idx, general_t),
            character=self._pick(probs, character_idx, character_t),
        )

    def _pick(self, probs, indexes: list[int], threshold: float) -> list[tuple[str, float]]:
        picked = []
        for i in indexes:
            if probs[i] >= threshold:
                tag = display_tag(self.tags.names[i])
                if tag.lower() not in self._excluded:
                    picked.append((tag, float(probs[i])))
        return sorted(picked, key=lambda item: -item[1])

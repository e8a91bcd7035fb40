"""The generation fields every metadata parser produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_PROMPT_CHARS = 64 * 1024  # a prompt longer than this is cut (a 10 MB chunk stays bounded)
MAX_LORAS = 64  # LoRAs kept per image


# What a model file's name ends with; a dot elsewhere (``detail_v1.5``) is part of the name.
MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".lora")


def lora_stem(name: str) -> str:
    """A LoRA name without its folder and file extension, lower case: ``SD1.5\\add_detail.safetensors``
    and ``loras/add_detail.pt`` both give ``add_detail``, so that names written by different tools compare."""
    base = name.strip().replace("\\", "/").rsplit("/", 1)[-1].lower()
    for ext in MODEL_EXTENSIONS:
        if base.endswith(ext) and len(base) > len(ext):
            return base[: -len(ext)]
    return base


@dataclass
class Lora:
    name: str  # exactly as the generator wrote it (no '_' -> ' ' mangling)
    weight: float | None = None
    clip_weight: float | None = None
    hash: str | None = None


@dataclass
class GenInfo:
    """What made an image: prompts, model, LoRAs and sampler settings."""

    source: str  # a1111 forge comfyui invokeai novelai trainpilot
    positive: str = ""
    negative: str = ""
    model: str | None = None
    model_hash: str | None = None
    loras: list[Lora] = field(default_factory=list)
    seed: int | None = None  # up to 2**64-1: stored as text in the index
    steps: int | None = None
    cfg: float | None = None
    sampler: str | None = None
    scheduler: str | None = None
    width: int | None = None  # generation size (the file header has the pixel size)
    height: int | None = None
    denoise: float | None = None
    has_workflow: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add_lora(
        self, name: str, weight: float | None = None, clip_weight: float | None = None, hash: str | None = None
    ) -> None:
        """Add a LoRA once (first mention wins); bounded by MAX_LORAS."""
        name = name.strip()
        if not name or any(l.name == name for l in self.loras):
            return
        if len(self.loras) >= MAX_LORAS:
            if "too many LoRAs" not in self.warnings:
                self.warnings.append("too many LoRAs")
            return
        self.loras.append(Lora(name, weight, clip_weight, hash))

    def clip(self) -> GenInfo:
        """Bound the prompt sizes."""
        for attr in ("positive", "negative"):
            text = getattr(self, attr) or ""
            if len(text) > MAX_PROMPT_CHARS:
                setattr(self, attr, text[:MAX_PROMPT_CHARS])
                self.warnings.append(f"{attr} prompt cut at {MAX_PROMPT_CHARS} characters")
        return self

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.seed is not None:
            data["seed"] = str(self.seed)  # JSON readers lose precision past 2**53
        return data


def to_int(value: Any) -> int | None:
    """An int from a JSON/text value, or None (bools and junk are refused)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            f = float(str(value).strip())
            return int(f) if f.is_integer() else None
        except ValueError:
            return None


def to_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def to_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None

"""Base models a user can train on: what lies in ``models/checkpoints``, ``diffusion_models`` and ``diffusers``.

Safetensors files are classified by the model store's detection (``lorapilot.models.detect``) where it
is installed, else by a minimal header-key lookup here; diffusers folders by ``model_index.json``.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

from lorapilot.workspace.layout import Workspace

BASE_FOLDERS = ("checkpoints", "diffusion_models", "unet", "diffusers")
COMPONENT_FOLDERS = {"vae": ("vae",), "clip_l": ("text_encoders", "clip"), "clip_g": ("text_encoders", "clip"),
                     "t5xxl": ("text_encoders", "clip"), "ae": ("vae",)}
WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".sft")
_MAX_HEADER = 100 * 1024 * 1024

_PIPELINES = {
    "StableDiffusionPipeline": "sd15",
    "StableDiffusionXLPipeline": "sdxl",
    "StableDiffusion3Pipeline": "sd3",
    "FluxPipeline": "flux1",
}


@dataclass
class BaseModel:
    path: str  # relative to models/
    folder: str
    kind: str  # "file" or "diffusers"
    family: str | None
    size: int

    def to_dict(self) -> dict:
        return asdict(self)


def safetensors_keys(path: Path) -> list[str]:
    """Tensor names in a safetensors file's header ([] when it is not one)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(8)
            if len(raw) != 8:
                return []
            (length,) = struct.unpack("<Q", raw)
            if length > _MAX_HEADER:
                return []
            header = json.loads(fh.read(length))
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    return [k for k in header if k != "__metadata__"] if isinstance(header, dict) else []


def family_of_keys(keys: list[str]) -> str | None:
    """Guess a family from checkpoint tensor names (original, ComfyUI or diffusers layouts)."""
    joined = "\n".join(keys)
    if "double_blocks.0.img_attn" in joined or ("single_transformer_blocks" in joined and "attn.add_q_proj" in joined):
        return "flux1"
    if "joint_blocks.0." in joined:
        return "sd3"
    if "conditioner.embedders.1" in joined or "diffusion_model.label_emb" in joined or "add_embedding.linear_1" in joined:
        return "sdxl"
    if "model.diffusion_model.input_blocks" in joined or "down_blocks.0.attentions.0" in joined:
        return "sd15"
    return None


# The model store's family names → TrainPilot's (SD2 and the SDXL refiner are not trained here).
_STORE_FAMILIES = {"sd1": "sd15", "sdxl": "sdxl", "sd3": "sd3", "flux1": "flux1"}


def detect_family(path: Path) -> str | None:
    """The family of a base model file or diffusers folder, or None when unknown."""
    if path.is_dir():
        try:
            index = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return _PIPELINES.get(index.get("_class_name", "")) if isinstance(index, dict) else None
    if path.suffix not in (".safetensors", ".sft"):
        return None
    try:  # the model store's detection, where it is installed
        from lorapilot.models.detect import detect
        from lorapilot.models.safetensors_header import read_header
    except ImportError:
        return family_of_keys(safetensors_keys(path))
    try:
        return _STORE_FAMILIES.get(detect(read_header(path)).family or "")
    except Exception:  # noqa: BLE001 - an unreadable file is simply "unknown" in a picker
        return None


def _entries(folder: Path):
    """Weight files and diffusers folders under ``folder`` (a diffusers folder is not descended into)."""
    if not folder.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if here != folder and "model_index.json" in filenames:
            dirnames[:] = []
            yield here, "diffusers"
            continue
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(WEIGHT_SUFFIXES):
                yield here / name, "file"


def list_base_models(ws: Workspace, family: str | None = None) -> list[BaseModel]:
    """Base model candidates, optionally only those detected as ``family`` (unknown ones are kept)."""
    out = []
    for folder_name in BASE_FOLDERS:
        folder = ws.models / folder_name
        for entry, kind in _entries(folder):
            fam = detect_family(entry)
            if family and fam not in (None, family):
                continue
            size = entry.stat().st_size if kind == "file" else sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
            out.append(BaseModel(str(entry.relative_to(ws.models)), folder_name, kind, fam, size))
    return out


def list_components(ws: Workspace, slot: str) -> list[str]:
    """Files that can fill a component slot (``clip_l``, ``t5xxl``, ``ae``, ``vae``, ``clip_g``)."""
    out = []
    for folder_name in COMPONENT_FOLDERS.get(slot, ()):
        for entry, kind in _entries(ws.models / folder_name):
            if kind == "file":
                out.append(str(entry.relative_to(ws.models)))
    return out

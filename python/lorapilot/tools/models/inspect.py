"""Inspect one model file: what it is, its hashes and its training metadata.

This is the API TrainPilot and TagPilot use for base-model pickers:

    from lorapilot.tools.models.inspect import summarize, inspect_file
    summary = summarize(path)        # cheap: header only (kind, family, rank, dtype ...)
    report = inspect_file(path)      # + every metadata field and the tag-frequency table

Pickle formats (``.ckpt``, ``.pt``, ``.pth``, ``.bin``) are never unpickled:
loading one can run arbitrary code. They are reported with a warning.
"""

from __future__ import annotations

import json
from pathlib import Path

from lorapilot.tools.models.detect import FAMILIES, FLUX_LAYOUT_FAMILIES, detect
from lorapilot.tools.models.safetensors_header import SafetensorsError, SafetensorsHeader, read_header

FORMATS = {
    ".safetensors": "safetensors",
    ".sft": "safetensors",
    ".ckpt": "pickle",
    ".pt": "pickle",
    ".pth": "pickle",
    ".bin": "pickle",
    ".gguf": "gguf",
}
"""Model file suffixes the store lists, and their format."""

PICKLE_WARNING = "pickle format: not opened (unpickling can run code); prefer a .safetensors copy"
GGUF_WARNING = "GGUF file: listed, but its header is not inspected"

# Training metadata worth a line of its own in `inspect` (kohya ss_* and modelspec.*).
TRAINING_KEYS = (
    "modelspec.title",
    "modelspec.architecture",
    "modelspec.author",
    "modelspec.date",
    "modelspec.resolution",
    "modelspec.trigger_phrase",
    "ss_output_name",
    "ss_base_model_version",
    "ss_sd_model_name",
    "ss_network_module",
    "ss_network_dim",
    "ss_network_alpha",
    "ss_network_args",
    "ss_learning_rate",
    "ss_unet_lr",
    "ss_text_encoder_lr",
    "ss_optimizer",
    "ss_lr_scheduler",
    "ss_num_train_images",
    "ss_num_epochs",
    "ss_epoch",
    "ss_steps",
    "ss_max_train_steps",
    "ss_batch_size_per_device",
    "ss_resolution",
    "ss_mixed_precision",
    "ss_seed",
    "ss_training_started_at",
    "ss_training_finished_at",
    "sshs_model_hash",
)


def file_format(path: Path) -> str | None:
    """``safetensors``, ``pickle``, ``gguf``, or None for a file the store ignores."""
    return FORMATS.get(Path(path).suffix.lower())


def summarize_header(header: SafetensorsHeader) -> dict:
    """The cacheable summary of a parsed header (no metadata values)."""
    detection = detect(header)
    summary = detection.to_dict()
    summary["format"] = "safetensors"
    summary["title"] = header.metadata.get("modelspec.title") or header.metadata.get("ss_output_name")
    summary["has_metadata"] = bool(header.metadata)
    summary["data_offset"] = header.data_offset
    if header.trailing_bytes:
        summary["warning"] = f"{header.trailing_bytes} bytes after the last tensor"
    return summary


def summarize(path: str | Path) -> dict:
    """Header-only summary of any model file; errors are reported in the dict, not raised.

    Keys: format, kind, family, family_label, variant, folder, dtype, params,
    tensors, lora ({algo, rank, alpha, scale, ...} or None), title, warning, error.
    """
    path = Path(path)
    fmt = file_format(path)
    if fmt == "pickle":
        return {"format": "pickle", "kind": "unknown", "warning": PICKLE_WARNING}
    if fmt == "gguf":
        return {"format": "gguf", "kind": "unknown", "warning": GGUF_WARNING}
    try:
        return summarize_header(read_header(path))
    except SafetensorsError as exc:
        return {"format": "safetensors", "kind": "unknown", "error": str(exc)}


def tag_frequency(metadata: dict[str, str]) -> list[dict]:
    """``ss_tag_frequency`` as rows ``{dataset, tag, count}``, most frequent first."""
    raw = metadata.get("ss_tag_frequency")
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return []
    rows = []
    if isinstance(data, dict):
        for dataset, tags in data.items():
            if not isinstance(tags, dict):
                continue
            for tag, count in tags.items():
                if isinstance(count, (int, float)):
                    rows.append({"dataset": str(dataset), "tag": str(tag).strip(), "count": int(count)})
    rows.sort(key=lambda r: (-r["count"], r["dataset"], r["tag"]))
    return rows


def training_card(path: Path) -> dict | None:
    """TrainPilot's card beside a LoRA it trained (``<name>.training.json``), or None (absent or unreadable)."""
    try:
        card = json.loads(path.with_name(path.stem + ".training.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def family_with_card(path: Path, summary: dict) -> tuple[str | None, str | None]:
    """``summary``'s family and label, corrected by TrainPilot's training card for a FLUX-shaped LoRA.

    Keys alone cannot tell a Chroma or HunyuanVideo LoRA on attention only from a FLUX.1 one, and
    Diffusion Pipe writes no metadata, so the card's ``base_family`` is the only witness.
    """
    family = summary.get("family")
    if family == "flux1" and summary.get("kind") in ("lora", "lycoris"):
        trained = (training_card(Path(path)) or {}).get("base_family")
        if trained in FLUX_LAYOUT_FAMILIES:
            return trained, FAMILIES[trained]
    return family, summary.get("family_label")


def inspect_file(path: str | Path) -> dict:
    """Everything the header says about ``path``, for ``lorapilot models inspect``.

    Raises :class:`SafetensorsError` for a broken safetensors file. Returns a
    dict with: path, name, size, format, summary (as :func:`summarize`),
    training (selected ss_*/modelspec.* fields), metadata (every field except
    the tag frequencies), tag_frequency (rows), dtypes (bytes per dtype).
    """
    path = Path(path)
    fmt = file_format(path) or "unknown"
    out: dict = {"path": str(path), "name": path.name, "size": path.stat().st_size, "format": fmt}
    if fmt != "safetensors":
        out["summary"] = summarize(path)
        out.update(training={}, metadata={}, tag_frequency=[], dtypes={})
        return out
    header = read_header(path)
    out["summary"] = summarize_header(header)
    out["summary"]["family"], out["summary"]["family_label"] = family_with_card(path, out["summary"])
    meta = header.metadata
    out["training"] = {k: meta[k] for k in TRAINING_KEYS if k in meta}
    out["metadata"] = {k: v for k, v in sorted(meta.items()) if k != "ss_tag_frequency"}
    out["tag_frequency"] = tag_frequency(meta)
    dtypes: dict[str, int] = {}
    for info in header.tensors.values():
        dtypes[info.dtype] = dtypes.get(info.dtype, 0) + info.nbytes
    out["dtypes"] = dtypes
    return out

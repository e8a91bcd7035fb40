"""What a source says about a model, kept beside the file in the conventions other UIs read.

- ``<name>.civitai.info``: CivitAI's model-version JSON, as the A1111 Civitai
  Helper and ComfyUI LoRA managers write and read it (trigger words in
  ``trainedWords``, base model in ``baseModel``, images, hashes).
- ``<name>.preview.png`` / ``.preview.jpg`` / ``.preview.webp``: the first
  preview image (a still: videos are skipped).
- ``<name>.source.json``: where the file came from (CivitAI model and version
  ids, or the Hugging Face repo, revision and commit), read by the update check.

All three travel with the model on move, rename, delete and restore (the
store's sidecar suffixes). Writes are atomic; a failed preview download only
leaves the preview out.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from lorapilot.kit.fsutil import atomic_write_bytes, atomic_write_text

SOURCE_SUFFIX = ".source.json"
INFO_SUFFIX = ".civitai.info"
_IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}
MAX_PREVIEW_BYTES = 20 * 1024 * 1024


def stem_of(model: Path) -> Path:
    """``loras/x.safetensors`` -> ``loras/x`` (the name every sidecar starts with)."""
    return model.with_suffix("")


def read_source(model: Path) -> dict | None:
    """The ``.source.json`` record of ``model`` (None when it has none or it is unreadable)."""
    try:
        record = json.loads(Path(str(stem_of(model)) + SOURCE_SUFFIX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def read_civitai_info(model: Path) -> dict | None:
    try:
        info = json.loads(Path(str(stem_of(model)) + INFO_SUFFIX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def write_sidecars(model: Path, info: dict, client: httpx.Client | None = None) -> list[Path]:
    """Write the sidecars ``info`` (a PullPlan's info) allows; returns the files written."""
    written: list[Path] = []
    stem = str(stem_of(model))
    if info.get("source") == "civitai":
        version = info["version"]
        atomic_write_text(Path(stem + INFO_SUFFIX), json.dumps(version, indent=2) + "\n")
        written.append(Path(stem + INFO_SUFFIX))
        record = {
            "source": "civitai",
            "model_id": version.get("modelId"),
            "version_id": version.get("id"),
            "version_name": version.get("name"),
            "base_model": version.get("baseModel"),
        }
        stills = [img for img in version.get("images") or [] if _is_still(img)]
        # A safe preview first: another UI shows it in a list of models.
        stills.sort(key=is_mature)
        preview = write_preview(model, [img["url"] for img in stills], client)
        if preview:
            written.append(preview)
    elif info.get("source") == "hf":
        record = {key: info.get(key) for key in ("source", "repo", "path", "revision", "commit")}
    else:
        return written
    atomic_write_text(Path(stem + SOURCE_SUFFIX), json.dumps(record, indent=2) + "\n")
    written.append(Path(stem + SOURCE_SUFFIX))
    return written


def is_mature(image: dict) -> bool:
    """CivitAI's rating of an image: ``nsfwLevel`` above 1 (PG), or the older ``nsfw`` label."""
    level = image.get("nsfwLevel")
    if isinstance(level, int):
        return level > 1
    return image.get("nsfw") not in (None, False, "None")


def _is_still(image: dict) -> bool:
    return bool(image.get("url")) and image.get("type", "image") == "image"


def write_preview(model: Path, urls: list[str], client: httpx.Client | None = None) -> Path | None:
    """Download the first of ``urls`` that is an image as ``<name>.preview.<ext>``; None when none is."""
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=30)
    try:
        for url in urls[:3]:
            try:
                response = client.get(url)
            except httpx.HTTPError:
                continue
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if response.status_code != 200 or kind not in _IMAGE_TYPES or len(response.content) > MAX_PREVIEW_BYTES:
                continue
            for old in _IMAGE_TYPES.values():  # one preview per model: another UI picks the first it finds
                try:
                    os.unlink(str(stem_of(model)) + ".preview" + old)
                except FileNotFoundError:
                    pass
            target = Path(str(stem_of(model)) + ".preview" + _IMAGE_TYPES[kind])
            atomic_write_bytes(target, response.content)
            return target
    finally:
        if own:
            client.close()
    return None

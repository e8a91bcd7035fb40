"""CivitAI models and versions in the shapes its API v1 documents, served by ModelServer."""

from __future__ import annotations

import hashlib
import io

from PIL import Image


def png(color=(200, 40, 40), size=(32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def civitai_version(
    server,
    model_id: int,
    version_id: int,
    data: bytes,
    *,
    name: str,
    base: str = "SDXL 1.0",
    words=("pxl style",),
    filename: str | None = None,
    model_name: str = "Pixel Art",
    model_type: str = "LORA",
    images: bool = True,
) -> dict:
    """A model version with one primary file (``data``, downloadable at /signed/VID) and preview images."""
    server.add(f"/signed/{version_id}", data, filename=filename or f"pixel_{version_id}.safetensors")
    image_list = []
    if images:
        server.add(f"/img/{version_id}-nsfw.png", png((0, 0, 0)), content_type="image/png")
        server.add(f"/img/{version_id}.png", png(), content_type="image/png")
        image_list = [
            {
                "url": f"{server.url}/img/{version_id}-nsfw.png",
                "nsfwLevel": 8,
                "width": 32,
                "height": 24,
                "type": "image",
            },
            {"url": f"{server.url}/img/{version_id}.png", "nsfwLevel": 1, "width": 32, "height": 24, "type": "image"},
        ]
    version = {
        "id": version_id,
        "modelId": model_id,
        "name": name,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "baseModel": base,
        "trainedWords": list(words),
        "description": None,
        "model": {"name": model_name, "type": model_type, "nsfw": False, "poi": False},
        "files": [
            {
                "id": version_id * 10,
                "name": filename or f"pixel_{version_id}.safetensors",
                "sizeKB": len(data) / 1024,
                "type": "Model",
                "primary": True,
                "metadata": {"fp": "fp16", "size": "pruned", "format": "SafeTensor"},
                "hashes": {
                    "SHA256": hashlib.sha256(data).hexdigest().upper(),
                    "AutoV2": hashlib.sha256(data).hexdigest()[:10].upper(),
                },
                "downloadUrl": f"{server.url}/api/download/models/{version_id}",
            }
        ],
        "images": image_list,
        "downloadUrl": f"{server.url}/api/download/models/{version_id}",
    }
    server.civitai_versions[version_id] = version
    return version


def civitai_model(
    server,
    model_id: int,
    versions: list[dict],
    *,
    name: str = "Pixel Art",
    model_type: str = "LORA",
    downloads: int = 100,
    nsfw: bool = False,
) -> dict:
    """A model as /api/v1/models lists it: its versions newest first."""
    model = {
        "id": model_id,
        "name": name,
        "description": "<p>pixels</p>",
        "type": model_type,
        "nsfw": nsfw,
        "poi": False,
        "tags": ["style", "pixel art"],
        "creator": {"username": "pixelwright", "image": None},
        "stats": {
            "downloadCount": downloads,
            "favoriteCount": 3,
            "thumbsUpCount": 7,
            "commentCount": 1,
            "ratingCount": 0,
            "rating": 0,
        },
        "modelVersions": [{k: v for k, v in ver.items() if k != "model"} for ver in versions],
    }
    server.civitai_models[model_id] = model
    return model

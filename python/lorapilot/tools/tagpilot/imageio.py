"""Image decoding shared by thumbnails, taggers and the VLM: transparency always lands on white."""

from __future__ import annotations

from pathlib import Path


def on_white(img):
    """An RGB copy of a PIL image with any transparency composited onto white."""
    from PIL import Image

    if img.mode == "RGB":
        return img.copy()
    if img.mode not in ("RGBA", "LA", "PA") and not (img.mode == "P" and "transparency" in img.info):
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    canvas.alpha_composite(rgba)
    return canvas.convert("RGB")


def open_rgb(path: Path, draft: tuple[int, int] | None = None):
    """Decode ``path`` fully as RGB on white; ``draft`` lets JPEG decode at a reduced scale.

    Raises whatever Pillow raises for a bad file; callers turn that into their own error.
    """
    from PIL import Image

    with Image.open(path) as img:
        if draft is not None:
            img.draft("RGB", draft)
        img.load()
        return on_white(img)


def decode_error(exc: BaseException, path) -> str:
    """Pillow's message for a bad file without the server's absolute path (the report names the image)."""
    return str(exc).replace(f"'{path}'", f"'{Path(path).name}'").replace(str(path), Path(path).name)

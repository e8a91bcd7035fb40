"""Real media files for MediaPilot tests, written with Pillow (and ffmpeg for videos).

Each builder writes the exact encoding a generator uses: PNG tEXt / zTXt / iTXt
chunks (and a chunk placed after the image data), EXIF UserComment in
UNICODE (UTF-16 big or little endian) or ASCII, and ComfyUI's EXIF
``prompt:{json}`` / ``workflow:{json}`` in WebP and JPEG.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

from PIL import Image, PngImagePlugin


def _image(size=(64, 48), color=(200, 120, 40)) -> Image.Image:
    return Image.new("RGB", size, color)


def png(
    path: Path,
    texts: dict[str, str] | None = None,
    ztxt: dict[str, str] | None = None,
    itxt: dict[str, str] | None = None,
    size=(64, 48),
) -> Path:
    """A PNG with tEXt (``texts``), zTXt (``ztxt``) and iTXt (``itxt``) chunks, via Pillow's PngInfo."""
    info = PngImagePlugin.PngInfo()
    for key, value in (texts or {}).items():
        info.add_text(key, value)  # tEXt when latin-1 encodable, else Pillow switches to iTXt
    for key, value in (ztxt or {}).items():
        info.add_text(key, value, zip=True)
    for key, value in (itxt or {}).items():
        info.add_itxt(key, value, lang="en", tkey=key, zip=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    _image(size).save(path, "PNG", pnginfo=info)
    return path


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def png_text_after_idat(path: Path, key: str, text: str, kind: bytes = b"tEXt", size=(64, 48)) -> Path:
    """A Pillow PNG with a text chunk inserted after IDAT, just before IEND (as some tools write it)."""
    png(path, size=size)
    data = path.read_bytes()
    if kind == b"tEXt":
        body = key.encode("latin-1") + b"\0" + text.encode("utf-8")
    elif kind == b"zTXt":
        raw = text.encode("latin-1") if text.isascii() else text.encode("utf-8")  # as generators write it
        body = key.encode("latin-1") + b"\0\0" + zlib.compress(raw)
    else:
        body = key.encode("latin-1") + b"\0\0\0en\0" + key.encode() + b"\0" + text.encode("utf-8")
    iend = data.rindex(b"IEND") - 4
    assert data.index(b"IDAT") < iend
    path.write_bytes(data[:iend] + png_chunk(kind, body) + data[iend:])
    return path


def png_raw_itxt(path: Path, key: str, raw: bytes) -> Path:
    """A PNG whose iTXt text is the given raw bytes (e.g. invalid UTF-8)."""
    png(path)
    data = path.read_bytes()
    iend = data.rindex(b"IEND") - 4
    body = key.encode("latin-1") + b"\0\0\0\0\0" + raw
    path.write_bytes(data[:iend] + png_chunk(b"iTXt", body) + data[iend:])
    return path


def user_comment(text: str, encoding: str) -> bytes:
    """EXIF UserComment bytes: 'unicode-be', 'unicode-le' or 'ascii'."""
    if encoding == "unicode-be":
        return b"UNICODE\0" + text.encode("utf-16-be")
    if encoding == "unicode-le":
        return b"UNICODE\0" + text.encode("utf-16-le")
    return b"ASCII\0\0\0" + text.encode("ascii")


def _exif(
    user_comment_bytes: bytes | None = None, tags: dict[int, str] | None = None, big_endian: bool = False
) -> bytes:
    exif = Image.Exif()
    if big_endian:
        exif.endian = ">"  # Pillow then writes big-endian ("MM") TIFF data
    for tag, value in (tags or {}).items():
        exif[tag] = value
    if user_comment_bytes is not None:
        exif.get_ifd(0x8769)[0x9286] = user_comment_bytes
    return exif.tobytes()


def jpeg(
    path: Path,
    comment: bytes | None = None,
    tags: dict[int, str] | None = None,
    big_endian: bool = False,
    size=(64, 48),
) -> Path:
    """A JPEG with EXIF (UserComment bytes and/or IFD0 text tags)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _image(size).save(path, "JPEG", quality=85, exif=_exif(comment, tags, big_endian))
    return path


def webp(
    path: Path, comment: bytes | None = None, tags: dict[int, str] | None = None, size=(64, 48), lossless: bool = False
) -> Path:
    """A WebP with an EXIF chunk (UserComment bytes and/or IFD0 text tags)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _image(size).save(path, "WEBP", exif=_exif(comment, tags), lossless=lossless)
    return path


def comfy_exif_tags(prompt: dict, workflow: dict | None = None) -> dict[int, str]:
    """ComfyUI's WebP/JPEG metadata: 0x0110 (Model) ``prompt:{json}``, 0x010F (Make) ``workflow:{json}``."""
    tags = {0x0110: "prompt:" + json.dumps(prompt)}
    if workflow is not None:
        tags[0x010F] = "workflow:" + json.dumps(workflow)
    return tags


def video(path: Path, seconds: float = 1.0, size=(64, 48), comment: str | None = None) -> Path:
    """A real MP4 (H.264) or WebM (VP9) made by ffmpeg from a test pattern."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is needed for video fixtures"
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = (
        ["-c:v", "libvpx-vp9", "-b:v", "100k"] if path.suffix == ".webm" else ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    )
    meta = ["-metadata", f"comment={comment}"] if comment else []
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={size[0]}x{size[1]}:rate=10",
            "-t",
            str(seconds),
            *codec,
            *meta,
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path

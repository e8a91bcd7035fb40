"""Per-image measurements for the dataset checks: sha256, perceptual hashes, blur, decodability.

Self-written with numpy and Pillow (no OpenCV): a pHash is the sign pattern of
the 8×8 lowest frequencies of a 32×32 DCT against their median; a dHash
compares horizontal neighbours of a 9×8 thumbnail; blur is the variance of
the 4-neighbour Laplacian of the grey image scaled to at most 512 px on its
long side (so the figure does not depend on resolution). This module stays
import-light: worker processes import only it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from lorapilot.tools.tagpilot.imageio import decode_error, on_white

BLUR_SIDE = 512
_HASH_BYTES = 1 << 20


@lru_cache(maxsize=1)
def _dct_matrix(n: int = 32) -> np.ndarray:
    """The orthonormal DCT-II matrix: ``D @ x`` transforms the columns of ``x``."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    d[0] /= np.sqrt(2.0)
    return d


def _bits_to_hex(bits: np.ndarray) -> str:
    return f"{int(np.packbits(bits.astype(np.uint8).ravel()).view('>u8')[0]):016x}"


def phash(gray32: np.ndarray) -> str:
    """64-bit pHash (hex) of a 32×32 grey array."""
    d = _dct_matrix(32)
    low = (d @ gray32 @ d.T)[:8, :8]
    return _bits_to_hex(low > np.median(low))


def dhash(gray9x8: np.ndarray) -> str:
    """64-bit dHash (hex) of an 8-row × 9-column grey array."""
    return _bits_to_hex(gray9x8[:, 1:] > gray9x8[:, :-1])


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low means few edges, i.e. blurry."""
    g = gray.astype(np.float64)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def measure(path: str) -> dict:
    """Everything the checks need about one image, decoding it once.

    Never raises for a bad image: an undecodable file gets ``error`` (and its sha256).
    """
    from PIL import Image

    result: dict = {
        "sha256": None,
        "phash": None,
        "dhash": None,
        "blur": None,
        "width": None,
        "height": None,
        "error": None,
    }
    try:
        result["sha256"] = file_sha256(Path(path))
    except OSError as exc:
        result["error"] = f"cannot read file: {exc.strerror}"
        return result
    try:
        with Image.open(path) as img:
            result["width"], result["height"] = img.size
            img.draft("L", (BLUR_SIDE, BLUR_SIDE))  # JPEG: decode at a reduced scale, much faster
            img.load()
            gray = on_white(img).convert("L") if img.mode != "L" else img.copy()
    except Image.DecompressionBombError as exc:
        result["error"] = f"image too large: {exc}"
        return result
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "corrupt", never a crash
        result["error"] = f"cannot decode image: {decode_error(exc, path)}"
        return result
    scale = BLUR_SIDE / max(gray.size)
    small = gray.resize((max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))) if scale < 1 else gray
    result["blur"] = round(laplacian_variance(np.asarray(small)), 3)
    result["phash"] = phash(np.asarray(gray.resize((32, 32), Image.Resampling.BILINEAR), dtype=np.float64))
    result["dhash"] = dhash(np.asarray(gray.resize((9, 8), Image.Resampling.BILINEAR), dtype=np.int16))
    return result


def hamming_pairs(hashes: list[str], threshold: int, block: int = 512) -> list[tuple[int, int, int]]:
    """All index pairs (i < j) whose 64-bit hashes differ in at most ``threshold`` bits, with the distance."""
    if len(hashes) < 2:
        return []
    values = np.array([int(h, 16) for h in hashes], dtype=np.uint64)
    pairs = []
    for start in range(0, len(values), block):
        rows = values[start : start + block]
        distances = np.bitwise_count(rows[:, None] ^ values[None, start:])
        ii, jj = np.nonzero(distances <= threshold)
        for i, j in zip(ii.tolist(), jj.tolist()):
            a, b = start + i, start + j
            if a < b:
                pairs.append((a, b, int(distances[i, j])))
    return pairs

"""Read a safetensors header without touching the tensor data.

File layout: an unsigned 64-bit little-endian length N, N bytes of JSON
(``{name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}``), then
the tensor bytes. Every number in the header is checked against the file
size before anything is trusted, so a truncated or hostile file gives a clear
:class:`SafetensorsError` instead of a crash or a huge allocation.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import LorapilotError

MAX_HEADER_BYTES = 100 * 1024 * 1024

# Bits per element of every dtype the safetensors format defines.
DTYPE_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "I64": 64,
    "U64": 64,
    "F64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


class SafetensorsError(LorapilotError):
    """The file is not a valid safetensors file; the message names it and says why."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int  # offset inside the data section
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.end - self.start


@dataclass
class SafetensorsHeader:
    """What the header says: tensors by name, the string metadata, where the data starts."""

    path: Path
    file_size: int
    header_size: int
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    trailing_bytes: int = 0

    @property
    def data_offset(self) -> int:
        """Byte offset of the tensor data (8 + header length): where the addnet hash starts."""
        return 8 + self.header_size

    def shape(self, name: str) -> tuple[int, ...] | None:
        info = self.tensors.get(name)
        return info.shape if info else None


def _fail(path: Path, message: str) -> SafetensorsError:
    return SafetensorsError(f"{path}: {message}")


def read_header(path: str | os.PathLike, max_header_bytes: int = MAX_HEADER_BYTES) -> SafetensorsHeader:
    """Parse and validate the header of ``path``; reads 8 + N bytes, never the tensors.

    Raises :class:`SafetensorsError` for: a file shorter than 8 bytes, a header
    length over ``max_header_bytes`` or past the end of the file, a header that
    is not a UTF-8 JSON object, an unknown dtype, a shape that does not match
    its ``data_offsets``, overlapping tensors, and tensor data past the end of
    the file (a truncated download).
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            file_size = os.fstat(fh.fileno()).st_size
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise _fail(path, f"truncated: {file_size} bytes, too short for the 8-byte header length")
            (header_size,) = struct.unpack("<Q", prefix)
            if header_size > max_header_bytes:
                raise _fail(
                    path,
                    f"header length {header_size} bytes exceeds the {max_header_bytes // (1024 * 1024)} MB limit "
                    "(not a safetensors file, or a corrupt one)",
                )
            if 8 + header_size > file_size:
                raise _fail(
                    path,
                    f"header length {header_size} is larger than the file ({file_size} bytes): truncated or not safetensors",
                )
            raw = fh.read(header_size)
    except IsADirectoryError:
        raise _fail(path, "is a directory, not a safetensors file") from None
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    if len(raw) != header_size:
        raise _fail(path, "truncated while reading the header")
    return parse_header(path, raw, file_size)


def parse_header(path: Path, raw: bytes, file_size: int) -> SafetensorsHeader:
    """Validate header bytes ``raw`` of a file of ``file_size`` bytes."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(path, f"header is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise _fail(path, f"header is not valid JSON: {exc.msg} at byte {exc.pos}") from None
    if not isinstance(doc, dict):
        raise _fail(path, f"header must be a JSON object, got {type(doc).__name__}")

    metadata = doc.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise _fail(path, "__metadata__ must be an object of strings")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise _fail(path, f"__metadata__[{key!r}] must be a string, got {type(value).__name__}")

    data_size = file_size - 8 - len(raw)
    tensors: dict[str, TensorInfo] = {}
    for name, entry in doc.items():
        tensors[name] = _tensor(path, name, entry, data_size)

    spans = sorted((t.start, t.end, t.name) for t in tensors.values() if t.end > t.start)
    last_end, last_name = 0, None
    for start, end, name in spans:
        if start < last_end:
            raise _fail(path, f"tensor {name!r} overlaps tensor {last_name!r} (data_offsets {start}..{end})")
        last_end, last_name = end, name
    return SafetensorsHeader(
        path=path,
        file_size=file_size,
        header_size=len(raw),
        tensors=tensors,
        metadata=dict(metadata),
        trailing_bytes=max(0, data_size - last_end),
    )


def _tensor(path: Path, name: str, entry: object, data_size: int) -> TensorInfo:
    if not isinstance(entry, dict):
        raise _fail(path, f"tensor {name!r}: entry must be an object")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if dtype not in DTYPE_BITS:
        raise _fail(path, f"tensor {name!r}: unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise _fail(path, f"tensor {name!r}: shape must be a list of non-negative integers, got {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise _fail(path, f"tensor {name!r}: data_offsets must be [begin, end] with 0 <= begin <= end, got {offsets!r}")
    start, end = offsets
    bits = math.prod(shape) * DTYPE_BITS[dtype]
    expected = (bits + 7) // 8
    if end - start != expected:
        raise _fail(
            path,
            f"tensor {name!r}: dtype {dtype} and shape {shape} need {expected} bytes "
            f"but data_offsets {offsets} span {end - start}",
        )
    if end > data_size:
        raise _fail(
            path,
            f"truncated: tensor {name!r} ends at data byte {end} but the file holds only {max(data_size, 0)} bytes of data",
        )
    return TensorInfo(name=name, dtype=dtype, shape=tuple(shape), start=start, end=end)


def read_scalar(header: SafetensorsHeader, name: str) -> float | None:
    """Read one scalar tensor (e.g. a LoRA ``.alpha``) by seeking to its few bytes."""
    info = header.tensors.get(name)
    if info is None or info.numel != 1:
        return None
    formats = {"F32": "<f", "F64": "<d", "F16": "<e", "I64": "<q", "I32": "<i", "I16": "<h", "I8": "<b", "U8": "<B"}
    with header.path.open("rb") as fh:
        fh.seek(header.data_offset + info.start)
        raw = fh.read(info.nbytes)
    if len(raw) != info.nbytes:
        return None
    if info.dtype == "BF16":
        return struct.unpack("<f", b"\x00\x00" + raw)[0]
    fmt = formats.get(info.dtype)
    return float(struct.unpack(fmt, raw)[0]) if fmt else None

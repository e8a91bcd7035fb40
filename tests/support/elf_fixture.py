"""Tiny but real ELF shared objects and wheels holding them, for the linkage check's tests.

Only what a dynamic loader reads first: an ELF header, a PT_LOAD and a PT_DYNAMIC program
header, the dynamic entries (NEEDED, SONAME, STRTAB, STRSZ) and their string table.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
from pathlib import Path

X86_64, AARCH64 = 62, 183


def shared_object(soname: str | None, needed: list[str], machine: int = X86_64) -> bytes:
    names = [*needed, *([soname] if soname else [])]
    strtab = b"\0" + b"".join(n.encode() + b"\0" for n in names)
    index = {n: 1 + sum(len(m.encode()) + 1 for m in names[:i]) for i, n in enumerate(names)}
    str_off = 64 + 2 * 56
    dyn_off = (str_off + len(strtab) + 7) & ~7
    entries = [(1, index[n]) for n in needed] + ([(14, index[soname])] if soname else [])
    entries += [(5, str_off), (10, len(strtab)), (0, 0)]
    dynamic = b"".join(struct.pack("<qQ", tag, value) for tag, value in entries)
    size = dyn_off + len(dynamic)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 64, 0, 0, 64, 56, 2, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, size, size, 0x1000)
    dyn = struct.pack("<IIQQQQQQ", 2, 6, dyn_off, dyn_off, dyn_off, len(dynamic), len(dynamic), 8)
    body = header + load + dyn + strtab
    return body + bytes(dyn_off - len(body)) + dynamic


def wheel(folder: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A wheel ``name-version`` for manylinux x86_64 with ``files`` (path inside -> bytes)."""
    path = folder / f"{name.replace('-', '_')}-{version}-py3-none-manylinux_2_17_x86_64.whl"
    info = f"{name.replace('-', '_')}-{version}.dist-info"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for inner, data in files.items():
            archive.writestr(inner, data)
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-manylinux_2_17_x86_64\n"
        )
        archive.writestr(f"{info}/RECORD", "")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

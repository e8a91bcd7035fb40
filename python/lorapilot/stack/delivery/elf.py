"""Just enough ELF to read a shared object's dynamic section: SONAME, NEEDED, RUNPATH.

Reads through the program headers (PT_DYNAMIC, PT_LOAD), which sit at the start of the file,
so a 1 GB library inside a wheel is read only as far as its dynamic string table.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

ELF_MAGIC = b"\x7fELF"
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 10, 14, 15, 29


class ElfError(ValueError):
    """The file is not an ELF this reader understands (it names what is wrong)."""


@dataclass
class DynamicInfo:
    soname: str | None = None
    needed: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    machine: int = 0


def _read(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise ElfError(f"truncated at offset {offset} (wanted {size} bytes)")
    return data


def read_dynamic(f: BinaryIO) -> DynamicInfo | None:
    """The dynamic section of the ELF in ``f`` (seekable); None for a static file (no PT_DYNAMIC)."""
    ident = _read(f, 0, 16)
    if ident[:4] != ELF_MAGIC:
        raise ElfError("not an ELF file")
    if ident[4] != 2 or ident[5] != 1:
        raise ElfError(f"only 64-bit little-endian ELF is read here (class {ident[4]}, data {ident[5]})")
    (machine,) = struct.unpack_from("<H", _read(f, 18, 2))
    (phoff,) = struct.unpack("<Q", _read(f, 32, 8))
    phentsize, phnum = struct.unpack("<HH", _read(f, 54, 4))
    loads, dynamic = [], None
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", _read(f, phoff + i * phentsize, 40)
        )
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return None
    raw = _read(f, dynamic[0], dynamic[1] - dynamic[1] % 16)
    entries = []
    for tag, value in struct.iter_unpack("<qQ", raw):
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    tags = dict(entries)
    if DT_STRTAB not in tags:
        raise ElfError("dynamic section without DT_STRTAB")

    def file_offset(vaddr: int) -> int:
        for start, offset, size in loads:
            if start <= vaddr < start + size:
                return offset + vaddr - start
        raise ElfError(f"address {vaddr:#x} is in no PT_LOAD segment")

    strtab = _read(f, file_offset(tags[DT_STRTAB]), tags.get(DT_STRSZ, 0))

    def text(index: int) -> str:
        end = strtab.index(b"\0", index)
        return strtab[index:end].decode("utf-8", "replace")

    info = DynamicInfo(machine=machine)
    for tag, value in entries:
        if tag == DT_NEEDED:
            info.needed.append(text(value))
        elif tag == DT_SONAME:
            info.soname = text(value)
        elif tag in (DT_RUNPATH, DT_RPATH):
            info.runpath += [p for p in text(value).split(":") if p]
    return info

"""Safe extraction of user-supplied zip archives (dataset imports, uploads, restores).

Every member is checked before a single byte is written: no absolute paths or
drive letters, no ``..`` that could escape (zip-slip), no symlinks or other
special files, no encryption, a bounded number of members, a bounded total
uncompressed size, and a bounded compression ratio (zip bombs). Extraction
then goes into a staging folder beside the destination that is renamed into
place only when everything was written; a failure removes the staging folder,
so a bad archive leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import tempfile
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Progress, check_cancel, no_progress

_CHUNK = 1 << 20
# A member's path, in bytes: well under PATH_MAX (4096) once the staging folder and the
# destination are put in front of it, so an over-long name is refused before staging.
MAX_MEMBER_PATH_BYTES = 1024
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # the 30-byte local file header


class UnsafeArchiveError(LorapilotError):
    """An archive that is malformed or hostile; the message says which member and why."""


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may contain. Defaults suit image datasets."""

    max_total_bytes: int = 20 * 1024**3  # sum of uncompressed sizes
    max_member_bytes: int = 2 * 1024**3
    max_members: int = 100_000
    max_ratio: float = 200.0  # uncompressed / compressed, per member and overall
    # Below this size a member's ratio is not checked: tiny files (a caption of
    # repeated tags) compress extremely well and are harmless.
    ratio_min_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class ArchiveMember:
    """One regular file of a checked archive."""

    name: str  # normalised relative posix path
    size: int
    compressed_size: int


def _member_kind(info: zipfile.ZipInfo) -> str:
    """'dir', 'file' or the name of a special file type, from the Unix mode bits."""
    if info.is_dir():
        return "dir"
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if info.create_system != 3 or kind == 0:  # not made on Unix, or no file type recorded: a plain file
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "special file"


def safe_member_name(raw: str) -> str:
    """Normalise a member name, or raise naming why it is unsafe."""
    if "\x00" in raw:
        raise UnsafeArchiveError(f"member {raw!r}: name contains a NUL byte")
    name = raw.replace("\\", "/")
    if name.startswith("/"):
        raise UnsafeArchiveError(f"member {raw!r}: absolute path")
    if len(name) >= 2 and name[1] == ":":
        raise UnsafeArchiveError(f"member {raw!r}: absolute path with a drive letter")
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeArchiveError(f"member {raw!r}: path escapes the destination ('..')")
    if not parts:
        raise UnsafeArchiveError(f"member {raw!r}: empty name")
    if any(len(p.encode("utf-8", "surrogatepass")) > 255 for p in parts):
        raise UnsafeArchiveError(f"member {raw!r}: a path component is longer than 255 bytes")
    joined = "/".join(parts)
    if len(joined.encode("utf-8", "surrogatepass")) > MAX_MEMBER_PATH_BYTES:
        raise UnsafeArchiveError(f"member {raw[:80]!r}...: path is longer than {MAX_MEMBER_PATH_BYTES} bytes")
    return joined


def _raw_name(info: zipfile.ZipInfo) -> str:
    """The name as the central directory holds it: zipfile cuts ``filename`` at a NUL byte, which
    would hide ``evil.png\0.txt`` behind ``evil.png``; ``orig_filename`` keeps it whole."""
    return getattr(info, "orig_filename", None) or info.filename


def check_zip(source: Path | BinaryIO, limits: ArchiveLimits = ArchiveLimits()) -> list[ArchiveMember]:
    """Check every member of a zip without extracting; returns its regular files.

    Raises :class:`UnsafeArchiveError` with the member and the reason on the
    first problem found.
    """
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise UnsafeArchiveError(f"not a valid zip archive: {exc}") from None
    if len(infos) > limits.max_members:
        raise UnsafeArchiveError(f"archive has {len(infos)} members; the limit is {limits.max_members}")
    members: list[ArchiveMember] = []
    seen: set[str] = set()
    folders: dict[str, str] = {}  # lower-cased folder -> the member that implies it
    total = total_compressed = 0
    for info in infos:
        name = safe_member_name(_raw_name(info))
        for depth in range(1, name.count("/") + 1):
            folders.setdefault(name.rsplit("/", depth)[0].lower(), info.filename)
        kind = _member_kind(info)
        if kind in ("symlink", "special file"):
            raise UnsafeArchiveError(f"member {info.filename!r}: {kind}s are not allowed")
        if info.flag_bits & 0x1:
            raise UnsafeArchiveError(f"member {info.filename!r}: encrypted members are not supported")
        if kind == "dir":
            folders.setdefault(name.lower(), info.filename)
            continue
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnsafeArchiveError(
                f"member {info.filename!r}: compression method {info.compress_type} is not supported (use deflate or store)"
            )
        if name.lower() in seen:
            raise UnsafeArchiveError(f"member {info.filename!r}: appears twice")
        seen.add(name.lower())
        if info.file_size > limits.max_member_bytes:
            raise UnsafeArchiveError(
                f"member {info.filename!r}: {info.file_size} bytes uncompressed; the limit is {limits.max_member_bytes}"
            )
        if info.file_size >= limits.ratio_min_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise UnsafeArchiveError(
                    f"member {info.filename!r}: compression ratio {ratio:.0f}:1 exceeds {limits.max_ratio:.0f}:1 (zip bomb?)"
                )
        total += info.file_size
        total_compressed += info.compress_size
        if total > limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"archive expands to more than {limits.max_total_bytes} bytes (limit reached at {info.filename!r})"
            )
        members.append(ArchiveMember(name=name, size=info.file_size, compressed_size=info.compress_size))
    for member in members:
        if member.name.lower() in folders:
            raise UnsafeArchiveError(
                f"member {member.name!r}: is a file, but {folders[member.name.lower()]!r} needs a folder of that name"
            )
    if total >= limits.ratio_min_bytes and total / max(total_compressed, 1) > limits.max_ratio:
        raise UnsafeArchiveError(
            f"archive compression ratio {total / max(total_compressed, 1):.0f}:1 exceeds {limits.max_ratio:.0f}:1 (zip bomb?)"
        )
    return members


def extract_zip(
    source: Path | BinaryIO,
    dest: Path,
    limits: ArchiveLimits = ArchiveLimits(),
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> list[ArchiveMember]:
    """Check ``source`` completely, then extract its regular files into ``dest``.

    ``dest`` must not exist yet; it appears (by a rename) only after every
    member was written. Sizes are counted while writing too, so a header that
    lies about its size is caught. Returns the extracted members.
    """
    dest = Path(dest)
    if os.path.lexists(dest):
        raise LorapilotError(f"extraction target {dest} already exists")
    members = check_zip(source, limits)
    if hasattr(source, "seek"):
        source.seek(0)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        total_size = sum(m.size for m in members)
        written = 0
        with zipfile.ZipFile(source) as zf:
            by_name = {safe_member_name(_raw_name(i)): i for i in zf.infolist() if not i.is_dir()}
            raw = open(source, "rb") if isinstance(source, (str, os.PathLike)) else source
            try:
                for member in members:
                    check_cancel(cancel)
                    target = staging / member.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    written += _copy_member(raw, by_name[member.name], target, total_size - written)
                    progress(written, total_size, member.name)
            finally:
                if raw is not source:
                    raw.close()
        os.rename(staging, dest)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UnsafeArchiveError(f"corrupt zip archive: {exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return members


def _data_offset(raw: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where ``info``'s compressed bytes start (after its local header, name and extra field)."""
    raw.seek(info.header_offset)
    header = raw.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise UnsafeArchiveError(f"member {info.filename!r}: bad local file header")
    fields = _LOCAL_HEADER.unpack(header)
    return info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]


def _copy_member(raw: BinaryIO, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Decompress one member to ``target`` from its raw bytes, refusing it (never truncating it) when
    its data expands beyond the size its header declares, or does not match its CRC.

    zipfile's own reader stops at the declared size and says nothing, so a member declaring 512 KiB
    whose stream holds 1 GiB would arrive cut short; decompressing here sees every byte.
    """
    allowed = min(info.file_size, budget)
    raw.seek(_data_offset(raw, info))
    left = info.compress_size
    inflate = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    count, crc = 0, 0
    beyond = UnsafeArchiveError(f"member {info.filename!r}: expands beyond its declared size ({info.file_size} bytes)")
    with open(target, "xb") as out:

        def emit(chunk: bytes) -> None:
            nonlocal count, crc
            count += len(chunk)
            if count > allowed:
                raise beyond
            crc = zlib.crc32(chunk, crc)
            out.write(chunk)

        while left > 0:
            data = raw.read(min(_CHUNK, left))
            if not data:
                raise UnsafeArchiveError(f"member {info.filename!r}: data is cut short")
            left -= len(data)
            if inflate is None:
                emit(data)
                continue
            while data and not inflate.eof:
                emit(inflate.decompress(data, _CHUNK))  # bounded output per call: a bomb never sits in memory
                data = inflate.unconsumed_tail
        if inflate is not None:
            if not inflate.eof:
                emit(inflate.flush())
            if not inflate.eof:
                raise UnsafeArchiveError(f"member {info.filename!r}: compressed data is incomplete")
    if count != info.file_size:
        raise UnsafeArchiveError(f"member {info.filename!r}: holds {count} bytes, its header declares {info.file_size}")
    if crc != info.CRC:
        raise UnsafeArchiveError(f"member {info.filename!r}: CRC mismatch (corrupt data)")
    return count

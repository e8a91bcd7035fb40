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
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Progress, check_cancel, no_progress

_CHUNK = 1 << 20


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
    return "/".join(parts)


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
    total = total_compressed = 0
    for info in infos:
        name = safe_member_name(info.filename)
        kind = _member_kind(info)
        if kind in ("symlink", "special file"):
            raise UnsafeArchiveError(f"member {info.filename!r}: {kind}s are not allowed")
        if info.flag_bits & 0x1:
            raise UnsafeArchiveError(f"member {info.filename!r}: encrypted members are not supported")
        if kind == "dir":
            continue
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
            by_name = {safe_member_name(i.filename): i for i in zf.infolist() if not i.is_dir()}
            for member in members:
                check_cancel(cancel)
                target = staging / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                written += _copy_member(zf, by_name[member.name], target, limits, total_size - written)
                progress(written, total_size, member.name)
        os.rename(staging, dest)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UnsafeArchiveError(f"corrupt zip archive: {exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return members


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limits: ArchiveLimits, budget: int) -> int:
    """Stream one member to ``target``, refusing more bytes than declared."""
    allowed = min(info.file_size, budget)
    count = 0
    with zf.open(info) as src, open(target, "xb") as out:
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            count += len(chunk)
            if count > allowed:
                raise UnsafeArchiveError(f"member {info.filename!r}: expands beyond its declared size")
            out.write(chunk)
    return count

"""Safe extraction of tar archives (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz), and a dispatcher for zips too.

The same rules as :mod:`lorapilot.kit.archive` for zips: every member is checked
before a byte is written (no absolute paths, no ``..``, no links or device
files, bounded member count and sizes, a bounded overall expansion ratio), and
extraction goes to a staging folder renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import threading
from pathlib import Path

from lorapilot.kit.archive import (
    ArchiveLimits,
    ArchiveMember,
    UnsafeArchiveError,
    extract_zip,
    safe_member_name,
)
from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Progress, check_cancel, no_progress

_CHUNK = 1 << 20
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def is_tar_name(path: Path) -> bool:
    return path.name.lower().endswith(TAR_SUFFIXES)


def sha256_file(path: Path, cancel: threading.Event | None = None) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            check_cancel(cancel)
            digest.update(chunk)
    return digest.hexdigest()


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnsafeArchiveError(f"{path}: not a readable tar archive: {exc}") from None


def check_tar(path: Path, limits: ArchiveLimits = ArchiveLimits()) -> list[ArchiveMember]:
    """Check every member of a tar without extracting; returns its regular files."""
    path = Path(path)
    members: list[ArchiveMember] = []
    seen: set[str] = set()
    total = count = 0
    with _open_tar(path) as tf:
        try:
            for info in tf:
                count += 1
                if count > limits.max_members:
                    raise UnsafeArchiveError(f"{path}: more than {limits.max_members} members")
                if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
                    continue  # metadata headers; tarfile applies them to the next member
                name = safe_member_name(info.name)
                if info.isdir():
                    continue
                if info.issym() or info.islnk():
                    raise UnsafeArchiveError(f"{path}: member {info.name!r}: links are not allowed")
                if not info.isfile():
                    raise UnsafeArchiveError(f"{path}: member {info.name!r}: special files are not allowed")
                if name in seen:
                    raise UnsafeArchiveError(f"{path}: member {info.name!r}: appears twice")
                seen.add(name)
                if info.size > limits.max_member_bytes:
                    raise UnsafeArchiveError(
                        f"{path}: member {info.name!r}: {info.size} bytes; the limit is {limits.max_member_bytes}"
                    )
                total += info.size
                if total > limits.max_total_bytes:
                    raise UnsafeArchiveError(f"{path}: expands to more than {limits.max_total_bytes} bytes")
                members.append(ArchiveMember(name=name, size=info.size, compressed_size=0))
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise UnsafeArchiveError(f"{path}: corrupt tar archive: {exc}") from None
    packed = max(path.stat().st_size, 1)
    if total >= limits.ratio_min_bytes and total / packed > limits.max_ratio:
        raise UnsafeArchiveError(
            f"{path}: compression ratio {total / packed:.0f}:1 exceeds {limits.max_ratio:.0f}:1 (tar bomb?)"
        )
    return members


def extract_tar(
    path: Path,
    dest: Path,
    limits: ArchiveLimits = ArchiveLimits(),
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> list[ArchiveMember]:
    """Check ``path`` completely, then extract its files into ``dest`` (which must not exist yet).

    Only names and contents are taken from the archive, plus the executable bit;
    owners, times and other modes are not.
    """
    path, dest = Path(path), Path(dest)
    if os.path.lexists(dest):
        raise LorapilotError(f"extraction target {dest} already exists")
    members = check_tar(path, limits)
    wanted = {m.name: m for m in members}
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        total_size = sum(m.size for m in members)
        written = 0
        with _open_tar(path) as tf:
            for info in tf:
                check_cancel(cancel)
                if not info.isfile():
                    continue
                name = safe_member_name(info.name)
                if name not in wanted:  # the archive changed between the check and now
                    raise UnsafeArchiveError(f"{path}: member {info.name!r} was not in the checked list")
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                written += _copy_member(tf, info, target, path)
                progress(written, total_size, name)
        os.rename(staging, dest)
    except (tarfile.TarError, EOFError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UnsafeArchiveError(f"{path}: corrupt tar archive: {exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return members


def _copy_member(tf: tarfile.TarFile, info: tarfile.TarInfo, target: Path, path: Path) -> int:
    count = 0
    src = tf.extractfile(info)
    if src is None:
        raise UnsafeArchiveError(f"{path}: member {info.name!r} has no data")
    with src, open(target, "xb") as out:
        while chunk := src.read(_CHUNK):
            count += len(chunk)
            if count > info.size:
                raise UnsafeArchiveError(f"{path}: member {info.name!r}: more data than its declared size")
            out.write(chunk)
    os.chmod(target, 0o755 if info.mode & 0o111 else 0o644)
    return count


def extract_archive(
    path: Path,
    dest: Path,
    limits: ArchiveLimits = ArchiveLimits(),
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> list[ArchiveMember]:
    """Safely extract a zip or tar archive (chosen by its name) into ``dest``."""
    path = Path(path)
    if path.name.lower().endswith(".zip"):
        return extract_zip(path, dest, limits, progress, cancel)
    if is_tar_name(path):
        return extract_tar(path, dest, limits, progress, cancel)
    raise LorapilotError(f"{path}: not an archive this can read (expected .zip or one of {', '.join(TAR_SUFFIXES)})")

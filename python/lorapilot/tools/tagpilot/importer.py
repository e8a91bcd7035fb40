"""Bring images and video clips (and their caption sidecars) into a dataset: from a folder, uploads, or a zip."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from lorapilot.kit.archive import ArchiveLimits, extract_zip
from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.kit.safepath import check_name
from lorapilot.kit.videofiles import ClipError, is_clip_name
from lorapilot.tools.tagpilot.dataset import CAPTION_EXTENSION, MEDIA_KINDS, Dataset, caption_name, is_media_name
from lorapilot.tools.tagpilot.index import media_error

_KINDS = MEDIA_KINDS

MAX_UPLOAD_BYTES = 512 * 1024**2
_CHUNK = 1 << 20


@dataclass
class ImportReport:
    """What an import did: files brought in, renamed to avoid a clash, skipped, and warnings."""

    imported: list[str] = field(default_factory=list)
    captions: int = 0
    renamed: dict[str, str] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "imported": self.imported,
            "captions": self.captions,
            "renamed": self.renamed,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "warnings": [{"file": f, "reason": r} for f, r in self.warnings],
        }


def _taken_stems(ds: Dataset, captions_count: bool = True) -> set[str]:
    """Lower-cased stems already used by an image or a caption (a.png and a.jpg would share a.txt).

    With ``captions_count=False`` only images count: an upload pairs with a caption uploaded before it.
    """
    stems = set()
    with os.scandir(ds.path) as entries:
        for entry in entries:
            if entry.name.startswith(".") or (not captions_count and not is_media_name(entry.name)):
                continue
            stems.add(os.path.splitext(entry.name)[0].lower())
    return stems


def _free_name(name: str, taken: set[str]) -> str:
    stem, ext = os.path.splitext(name)
    candidate, n = stem, 1
    while candidate.lower() in taken:
        candidate = f"{stem}-{n}"
        n += 1
    taken.add(candidate.lower())
    return candidate + ext


def _copy_into(source: Path, target: Path, move: bool) -> None:
    """Copy (or move) a file to ``target`` through a temporary name; never overwrites."""
    if os.path.lexists(target):
        raise LorapilotError(f"{target} already exists")
    if move:
        try:
            os.rename(source, target)
            return
        except OSError:
            pass
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.import")
    try:
        shutil.copyfile(source, tmp)
        os.rename(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _collect(source: Path, report: ImportReport) -> list[tuple[Path, Path | None]]:
    """(image, caption or None) pairs under ``source``, hidden folders skipped."""
    pairs = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        # Links are skipped (reported below), captions too: a linked sidecar is never paired.
        present = {n for n in filenames if not os.path.islink(os.path.join(dirpath, n))}
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith("."):
                continue
            if path.is_symlink():
                report.skipped.append((str(path.relative_to(source)), "symbolic link"))
            elif is_media_name(name):
                sidecar = caption_name(name)
                pairs.append((path, Path(dirpath) / sidecar if sidecar in present else None))
            elif not name.endswith(CAPTION_EXTENSION):
                report.skipped.append((str(path.relative_to(source)), f"not an image or clip ({_KINDS})"))
    return pairs


def check_import_source(ds: Dataset, source: Path) -> Path:
    """Refuse a source that is not a folder, or that holds the dataset (it would import its own images)."""
    source = Path(source)
    if not source.is_dir():
        raise LorapilotError(f"import source {source} is not a folder")
    real_source, real_target = Path(os.path.realpath(source)), Path(os.path.realpath(ds.path))
    if real_target == real_source or real_target.is_relative_to(real_source):
        raise LorapilotError(f"cannot import {source} into dataset {ds.name!r}: the folder holds the dataset itself")
    return source


def import_folder(
    ds: Dataset,
    source: Path,
    move: bool = False,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> ImportReport:
    """Import every image and clip under ``source`` (recursively, flattened) with its ``.txt`` sidecar.

    A name already in the dataset gets a ``-N`` suffix; undecodable images and clips ffprobe cannot
    read are imported and reported by name (the checks tab offers to remove images).
    """
    source = check_import_source(ds, source)
    report = ImportReport()
    pairs = _collect(source, report)
    with ds.lock():
        taken = _taken_stems(ds)
        for index, (image, caption) in enumerate(pairs):
            check_cancel(cancel)
            name = _free_name(image.name, taken)
            if name != image.name:
                report.renamed[str(image.relative_to(source))] = name
            _copy_into(image, ds.path / name, move)
            if caption is not None:
                _copy_into(caption, ds.path / caption_name(name), move)
                report.captions += 1
            error = media_error(ds.path / name)
            if error:
                report.warnings.append((name, error))
            report.imported.append(name)
            progress(index + 1, len(pairs), name)
    return report


def import_zip(
    ds: Dataset,
    archive: Path | BinaryIO,
    limits: ArchiveLimits = ArchiveLimits(),
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> ImportReport:
    """Check a zip completely (see :mod:`lorapilot.kit.archive`), then import its images.

    A hostile or corrupt zip raises with the reason and leaves the dataset untouched.
    """
    staging = ds.state_dir / f"import-{uuid.uuid4().hex[:12]}"
    try:
        extract_zip(archive, staging, limits, cancel=cancel)
        return import_folder(ds, staging, move=True, progress=progress, cancel=cancel)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def import_upload(
    ds: Dataset, filename: str, stream: BinaryIO | Iterable[bytes], max_bytes: int = MAX_UPLOAD_BYTES
) -> ImportReport:
    """Store one uploaded image or caption file (streamed; refused beyond ``max_bytes``).

    An image whose name is taken gets a ``-N`` suffix; a caption replaces
    nothing: it is only accepted for an image without a caption. Files arrive
    one request each, in any order: an image pairs with a caption uploaded
    before it (``a.txt`` then ``a.webp``) instead of being renamed away from it.
    """
    check_name(filename, "file name")
    if filename.startswith("."):
        raise LorapilotError(f"file name {filename!r} must not start with '.'")
    is_caption = filename.endswith(CAPTION_EXTENSION)
    if not is_caption and not is_media_name(filename):
        raise LorapilotError(f"{filename!r} is not an image or clip ({_KINDS}) or a .txt caption")
    report = ImportReport()
    tmp = ds.path / f".{uuid.uuid4().hex}.upload"
    try:
        _stream_to(tmp, stream, max_bytes, filename)
        with ds.lock():
            if is_caption:
                if (ds.path / filename).exists():
                    raise LorapilotError(f"caption {filename!r} already exists; edit it instead")
                os.rename(tmp, ds.path / filename)
                report.captions += 1
                return report
            name = _free_name(filename, _taken_stems(ds, captions_count=False))
            if name != filename:
                report.renamed[filename] = name
            error = media_error(tmp, name)
            if error and is_clip_name(name):
                raise ClipError(error)  # refused: a clip is only of use once ffprobe reads it
            os.rename(tmp, ds.path / name)
            if error:
                report.warnings.append((name, error))
            report.imported.append(name)
            return report
    finally:
        tmp.unlink(missing_ok=True)


def _stream_to(path: Path, stream: BinaryIO | Iterable[bytes], max_bytes: int, label: str) -> int:
    total = 0
    chunks = iter(lambda: stream.read(_CHUNK), b"") if hasattr(stream, "read") else stream
    with open(path, "xb") as out:
        for chunk in chunks:
            total += len(chunk)
            if total > max_bytes:
                raise LorapilotError(f"{label}: larger than the upload limit of {max_bytes} bytes")
            out.write(chunk)
    return total

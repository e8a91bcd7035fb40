"""A dataset's images with their captions and sizes, read fast enough for 10,000 images.

Image sizes (and the check metrics of :mod:`checks`) are cached in
``.tagpilot/cache.db`` keyed by file size and mtime, so only new or changed
images are opened. Captions are cached in memory keyed by inode, size and
mtime; a caption written by anyone (another process, an editor) has a new
key and is read again.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit import db
from lorapilot.kit.safepath import confined_entries
from lorapilot.kit.videofiles import ClipError, ClipInfo, FfmpegMissing, is_clip_name, probe_clip
from lorapilot.tools.tagpilot.captions import MISSING, Caption, decode_caption, read_raw
from lorapilot.tools.tagpilot.dataset import CAPTION_EXTENSION, Dataset, caption_name, excluded_images, is_media_name
from lorapilot.tools.tagpilot.imageio import decode_error

CACHE_SCHEMA = [
    """
    CREATE TABLE images (
        name TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        width INTEGER,
        height INTEGER,
        error TEXT,
        sha256 TEXT,
        phash TEXT,
        dhash TEXT,
        blur REAL
    );
    """,
    # Clip facts from ffprobe (duration, frame rate, frame count), kept apart from the image metrics
    # the checks rewrite.
    """
    CREATE TABLE clips (
        name TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        width INTEGER,
        height INTEGER,
        fps REAL,
        frames INTEGER,
        duration REAL,
        error TEXT
    );
    """,
]

# path -> ((inode, size, mtime_ns), Caption). Plain dict operations are atomic under the GIL.
_caption_cache: dict[str, tuple[tuple[int, int, int], Caption]] = {}


@dataclass
class ImageRecord:
    """One image of a dataset as TagPilot sees it."""

    name: str
    size: int | None  # None when scanned without sizes
    mtime_ns: int | None
    width: int | None = None
    height: int | None = None
    error: str | None = None  # the image could not be decoded (the clip not read)
    caption: Caption = field(default=MISSING)
    clip: ClipInfo | None = None  # a video clip's facts (None for images, and before sizes are read)

    @property
    def is_clip(self) -> bool:
        return is_clip_name(self.name)

    @property
    def tags(self) -> list[str]:
        return self.caption.tags

    @property
    def captioned(self) -> bool:
        return self.caption.exists and bool(self.caption.text)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "width": self.width,
            "height": self.height,
            "error": self.error,
            "caption": self.caption.text,
            "version": self.caption.version,
            "has_caption": self.caption.exists,
            "non_utf8": self.caption.non_utf8,
            "tags": self.tags,
            "kind": "clip" if self.is_clip else "image",
            "clip": self.clip.to_dict() if self.clip else None,
        }


def open_cache(ds: Dataset):
    """The dataset's metadata cache (created on first use)."""
    conn = db.connect(ds.cache_db)
    db.migrate(conn, CACHE_SCHEMA)
    return conn


def _cached_caption(path: str, stat: os.stat_result, roots) -> Caption:
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    hit = _caption_cache.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    caption = decode_caption(read_raw(Path(path), roots))
    _caption_cache[path] = (key, caption)
    return caption


def image_size(path: Path) -> tuple[int | None, int | None, str | None]:
    """(width, height, error) from the image header; an undecodable file gives an error, not an exception."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
        return width, height, None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return None, None, f"cannot read image: {decode_error(exc, path)}"
    except Image.DecompressionBombError as exc:
        return None, None, f"image too large: {exc}"


def media_error(path: Path, name: str | None = None) -> str | None:
    """Why an image cannot be decoded, or a clip not read by ffprobe (naming it); None when it is fine."""
    name = name or path.name
    if is_clip_name(name):
        try:
            probe_clip(path)
        except ClipError as exc:
            return str(exc).replace(path.name, name)
        return None
    return image_size(path)[2]


def _listing(
    ds: Dataset, stat_images: bool
) -> tuple[dict[str, os.stat_result | None], dict[str, tuple[str, os.stat_result]]]:
    """One directory listing: image name → stat (None unless asked), caption name → (path, stat)."""
    images: dict[str, os.stat_result | None] = {}
    captions: dict[str, tuple[str, os.stat_result]] = {}
    for entry in confined_entries(ds.path, ds.boundary):  # links out of the workspace are not listed
        name = entry.name
        if name.startswith("."):
            continue
        if name.endswith(CAPTION_EXTENSION):
            captions[name] = (entry.path, entry.stat())
        elif is_media_name(name) and entry.is_file():
            images[name] = entry.stat() if stat_images else None
    return images, captions


def scan(ds: Dataset, with_sizes: bool = True) -> list[ImageRecord]:
    """All images of ``ds`` (sorted by name) with captions; file and pixel sizes when asked.

    Without sizes no image file is even stat'ed: one directory listing plus one stat per caption.
    """
    images, captions = _listing(ds, stat_images=with_sizes)
    records = []
    for name in sorted(images):
        stat = images[name]
        record = ImageRecord(name=name, size=stat and stat.st_size, mtime_ns=stat and stat.st_mtime_ns)
        found = captions.get(caption_name(name))
        if found is not None:
            record.caption = _cached_caption(*found, ds.boundary)
        records.append(record)
    if with_sizes:
        _fill_sizes(ds, records)
    return records


@dataclass
class _Tally:
    """A dataset's running tag counts: only captions whose stat changed are recounted."""

    keys: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    tags: dict[str, frozenset[str]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


_tallies: dict[str, _Tally] = {}


def dataset_tag_frequency(ds: Dataset) -> list[tuple[str, int]]:
    """:func:`tag_frequency` of the whole dataset, kept up to date incrementally (the sidebar's table)."""
    images, captions = _listing(ds, stat_images=False)
    present = {}
    for image in images:
        name = caption_name(image)
        if name in captions:
            present[name] = captions[name]
    tally = _tallies.setdefault(str(ds.path), _Tally())
    with tally.lock:
        for name in [n for n in tally.keys if n not in present]:
            tally.counts.subtract(tally.tags.pop(name))
            del tally.keys[name]
        for name, (path, stat) in present.items():
            key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if tally.keys.get(name) == key:
                continue
            tags = frozenset(_cached_caption(path, stat, ds.boundary).tags)
            old = tally.tags.get(name)
            if old is not None:
                tally.counts.subtract(old)
            tally.counts.update(tags)
            tally.keys[name], tally.tags[name] = key, tags
        return sorted(((t, c) for t, c in tally.counts.items() if c > 0), key=lambda item: (-item[1], item[0]))


def _fill_clips(conn, ds: Dataset, records: list[ImageRecord]) -> None:
    """Clip facts from the cache, ffprobe for new or changed clips."""
    known = {row["name"]: row for row in conn.execute("SELECT * FROM clips")}
    stale = []
    for record in records:
        row = known.get(record.name)
        if row is None or row["size"] != record.size or row["mtime_ns"] != record.mtime_ns:
            unread = {"width": None, "height": None, "fps": None, "frames": None, "duration": None}
            try:
                row = {**probe_clip(ds.path / record.name).to_dict(), "error": None}
            except FfmpegMissing as exc:  # no fact about the clip: not cached, read again once installed
                row = {**unread, "error": str(exc)}
            except ClipError as exc:
                row = {**unread, "error": str(exc)}
                stale.append((record, row))
            else:
                stale.append((record, row))
        record.width, record.height, record.error = row["width"], row["height"], row["error"]
        if row["error"] is None:
            record.clip = ClipInfo(row["width"], row["height"], row["fps"], row["frames"], row["duration"])
    if stale:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT OR REPLACE INTO clips (name, size, mtime_ns, width, height, fps, frames, duration, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r.name, r.size, r.mtime_ns, d["width"], d["height"], d["fps"], d["frames"], d["duration"], d["error"])
                for r, d in stale
            ],
        )
        conn.execute("COMMIT")


def _fill_sizes(ds: Dataset, all_records: list[ImageRecord]) -> None:
    conn = open_cache(ds)
    try:
        _fill_clips(conn, ds, [r for r in all_records if r.is_clip])
        records = [r for r in all_records if not r.is_clip]
        known = {
            row["name"]: row for row in conn.execute("SELECT name, size, mtime_ns, width, height, error FROM images")
        }
        stale = []
        for record in records:
            row = known.get(record.name)
            if row is not None and row["size"] == record.size and row["mtime_ns"] == record.mtime_ns:
                record.width, record.height, record.error = row["width"], row["height"], row["error"]
            else:
                record.width, record.height, record.error = image_size(ds.path / record.name)
                stale.append(record)
        if stale:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT OR REPLACE INTO images (name, size, mtime_ns, width, height, error) VALUES (?, ?, ?, ?, ?, ?)",
                [(r.name, r.size, r.mtime_ns, r.width, r.height, r.error) for r in stale],
            )
            conn.execute("COMMIT")
    finally:
        conn.close()


def get_record(ds: Dataset, image: str) -> ImageRecord:
    """One image's record (raises NotFoundError for an unknown image)."""
    path = ds.image_path(image)
    stat = path.stat()
    record = ImageRecord(name=image, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    caption_path = ds.caption_path(image)
    try:
        record.caption = _cached_caption(str(caption_path), caption_path.stat(), ds.boundary)
    except FileNotFoundError:
        pass
    _fill_sizes(ds, [record])
    return record


def tag_frequency(records: list[ImageRecord]) -> list[tuple[str, int]]:
    """Tags by how many images carry them, most frequent first (ties by name)."""
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(set(record.caption.tags))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def autocomplete(frequency: list[tuple[str, int]], prefix: str, limit: int = 20) -> list[tuple[str, int]]:
    """Tags of a frequency table that start with (or have a word starting with) ``prefix``, most used first."""
    prefix = prefix.strip().lower()
    starts, words = [], []
    for tag, count in frequency:
        low = tag.lower()
        if low.startswith(prefix):
            starts.append((tag, count))
        elif any(word.startswith(prefix) for word in low.split()):
            words.append((tag, count))
    return (starts + words)[:limit]


_RATIOS = {
    "1:1": 1.0,
    "4:3": 4 / 3,
    "3:4": 3 / 4,
    "3:2": 1.5,
    "2:3": 2 / 3,
    "16:9": 16 / 9,
    "9:16": 9 / 16,
    "2:1": 2.0,
    "1:2": 0.5,
}


def aspect_bucket(width: int, height: int) -> str:
    """The nearest common aspect ratio name, e.g. ``"3:2"``."""
    ratio = width / height
    name, value = min(_RATIOS.items(), key=lambda item: abs(item[1] - ratio))
    return name if abs(value - ratio) / value < 0.08 else "other"


def dataset_stats(ds: Dataset, records: list[ImageRecord] | None = None) -> dict:
    """Counts and size/aspect distributions of a dataset."""
    records = scan(ds) if records is None else records
    decoded = [r for r in records if r.width and r.height]
    captioned = sum(1 for r in records if r.captioned)
    aspects = Counter(aspect_bucket(r.width, r.height) for r in decoded)
    sides = [min(r.width, r.height) for r in decoded]
    size_buckets = Counter(_side_bucket(side) for side in sides)
    return {
        "name": ds.name,
        "path": str(ds.path),
        "images": len(records),
        "clips": sum(1 for r in records if r.is_clip),
        "bytes": sum(r.size or 0 for r in records),
        "captioned": captioned,
        "captioned_pct": round(100.0 * captioned / len(records), 1) if records else 0.0,
        "undecodable": sum(1 for r in records if r.error),
        "non_utf8_captions": sum(1 for r in records if r.caption.non_utf8),
        "excluded": len(excluded_images(ds)),
        "width": _range([r.width for r in decoded]),
        "height": _range([r.height for r in decoded]),
        "aspect_ratios": dict(aspects.most_common()),
        "short_side": dict(sorted(size_buckets.items(), key=lambda item: _BUCKET_ORDER.index(item[0]))),
    }


_BUCKET_ORDER = ["<512", "512-767", "768-1023", "1024-1535", ">=1536"]


def _side_bucket(side: int) -> str:
    for limit, name in ((512, "<512"), (768, "512-767"), (1024, "768-1023"), (1536, "1024-1535")):
        if side < limit:
            return name
    return ">=1536"


def _range(values: list[int]) -> dict | None:
    if not values:
        return None
    return {"min": min(values), "max": max(values), "mean": round(sum(values) / len(values), 1)}

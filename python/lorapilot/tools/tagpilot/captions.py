"""Caption sidecars: reading (with replacement for non-UTF-8), versions, and tag lists.

A caption's *version* is a short hash of its bytes, so an edit based on text
the user saw can be checked against the file as it is now, across restarts
and processes. A missing caption has the version ``""``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lorapilot.kit.safepath import escapes

_TAG_SPLIT = re.compile(r"[,\n]")


@dataclass(frozen=True)
class Caption:
    """The text of one caption sidecar as read from disk."""

    text: str
    version: str
    exists: bool
    non_utf8: bool = False  # the bytes were not UTF-8: the text has U+FFFD replacements
    raw: bytes | None = field(default=None, repr=False, compare=False)  # the exact bytes, for undo

    @cached_property
    def tags(self) -> list[str]:
        """The caption as tags (computed once: captions are cached and read often). Do not mutate."""
        return split_tags(self.text)

    def to_dict(self) -> dict:
        return {"text": self.text, "version": self.version, "exists": self.exists, "non_utf8": self.non_utf8}


MISSING = Caption(text="", version="", exists=False)


def caption_version(raw: bytes | None) -> str:
    """The version of caption bytes (``""`` for no file)."""
    return "" if raw is None else hashlib.sha256(raw).hexdigest()[:16]


def decode_caption(raw: bytes | None) -> Caption:
    """Decode caption bytes; invalid UTF-8 is replaced and flagged, never fatal."""
    if raw is None:
        return MISSING
    try:
        text, non_utf8 = raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        text, non_utf8 = raw.decode("utf-8", errors="replace"), True
    return Caption(text=text.strip(), version=caption_version(raw), exists=True, non_utf8=non_utf8, raw=raw)


def read_raw(path: Path, roots=None) -> bytes | None:
    """The bytes of a caption file, or None when there is none.

    A caption that links outside ``roots`` (the workspace; default: its own
    folder) counts as none: its text is never read (and a write replaces the
    link, not its target).
    """
    if escapes(path, roots if roots is not None else Path(path).parent):
        return None
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None


def read_caption(path: Path, roots=None) -> Caption:
    return decode_caption(read_raw(path, roots))


def encode_caption(text: str) -> bytes:
    """What TagPilot writes: UTF-8, no BOM, no trailing newline."""
    return text.strip().encode("utf-8")


def split_tags(text: str) -> list[str]:
    """A caption as a list of tags: split on commas (and newlines), trimmed, empties dropped."""
    return [tag for tag in (part.strip() for part in _TAG_SPLIT.split(text)) if tag]


def join_tags(tags: list[str]) -> str:
    return ", ".join(tags)

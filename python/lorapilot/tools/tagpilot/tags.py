"""Bulk caption operations as pure functions: text in, text out, nothing touches the disk.

Tag operations treat a caption as a comma list. An operation that changes no
tag returns the caption text unchanged (its spacing included), so a preview
lists only the files that really change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from lorapilot.kit.errors import LorapilotError
from lorapilot.tools.tagpilot.captions import join_tags, split_tags

OpKind = Literal["add", "remove", "replace", "find_replace", "dedupe", "sort", "consolidate", "set"]
OP_KINDS: tuple[str, ...] = OpKind.__args__  # type: ignore[attr-defined]


def add_tag(tags: list[str], tag: str, position: int = 0) -> list[str]:
    """Insert ``tag`` at ``position`` (0 = first, -1 = last); a tag already present is moved there."""
    tag = tag.strip()
    key = tag.lower()
    rest = [t for t in tags if t.lower() != key]
    index = len(rest) + 1 + position if position < 0 else position
    index = max(0, min(index, len(rest)))
    return rest[:index] + [tag] + rest[index:]


def remove_tags(tags: list[str], remove: list[str]) -> list[str]:
    """Drop every tag in ``remove`` (case-insensitive; ``*`` is a wildcard)."""
    patterns = [_tag_pattern(r) for r in remove]
    return [t for t in tags if not any(p.fullmatch(t) for p in patterns)]


def replace_tag(tags: list[str], old: str, new: str) -> list[str]:
    """Replace tag ``old`` with ``new`` in place (an empty ``new`` removes it); keeps tags unique."""
    pattern = _tag_pattern(old)
    new = new.strip()
    out = [new if pattern.fullmatch(t) else t for t in tags]
    return dedupe_tags([t for t in out if t])


def dedupe_tags(tags: list[str]) -> list[str]:
    """Keep the first of tags that differ only by case or spacing."""
    seen: set[str] = set()
    out = []
    for tag in tags:
        key = " ".join(tag.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(tag)
    return out


def sort_tags(tags: list[str], keep_first: int = 0, frequency: dict[str, int] | None = None) -> list[str]:
    """Sort tags alphabetically, or by dataset frequency when given; the first ``keep_first`` stay put."""
    head, tail = tags[:keep_first], tags[keep_first:]
    if frequency is not None:
        tail = sorted(tail, key=lambda t: (-frequency.get(t, 0), t.lower()))
    else:
        tail = sorted(tail, key=str.lower)
    return head + tail


def consolidate_tags(tags: list[str]) -> list[str]:
    """Drop a tag that a more specific tag already says (``shirt`` where ``white shirt`` is present)."""
    lowered = [" ".join(t.lower().replace("_", " ").split()) for t in tags]
    keep = []
    for i, tag in enumerate(tags):
        word = re.compile(rf"(?:^|\s){re.escape(lowered[i])}(?:\s|$)")
        covered = any(j != i and lowered[j] != lowered[i] and word.search(lowered[j]) for j in range(len(tags)))
        if not covered:
            keep.append(tag)
    return keep


def find_replace(text: str, find: str, replace: str, regex: bool = False, ignore_case: bool = False) -> str:
    """Replace ``find`` in caption text (plain text, or a regular expression)."""
    if not find:
        raise LorapilotError("find_replace: 'find' must not be empty")
    flags = re.IGNORECASE if ignore_case else 0
    try:
        pattern = re.compile(find if regex else re.escape(find), flags)
    except re.error as exc:
        raise LorapilotError(f"find_replace: invalid regular expression {find!r}: {exc}") from None
    try:
        return pattern.sub(replace if regex else replace.replace("\\", "\\\\"), text)
    except (re.error, IndexError) as exc:  # a bad group reference in the replacement
        raise LorapilotError(f"find_replace: invalid replacement {replace!r}: {exc}") from None


def _tag_pattern(tag: str) -> re.Pattern:
    tag = " ".join(tag.strip().split())
    return re.compile(".*".join(re.escape(part) for part in tag.split("*")), re.IGNORECASE)


@dataclass(frozen=True)
class BulkOp:
    """One bulk operation and its parameters (validated by :func:`make_op`)."""

    kind: str
    tag: str = ""
    tags: tuple[str, ...] = ()
    new: str = ""
    position: int = 0
    find: str = ""
    replace: str = ""
    regex: bool = False
    ignore_case: bool = False
    keep_first: int = 0
    by_frequency: bool = False
    text: str = ""
    frequency: dict[str, int] | None = field(default=None, compare=False)

    def describe(self) -> str:
        """A one-line summary for the history list."""
        if self.kind == "add":
            where = "first" if self.position == 0 else "last" if self.position == -1 else f"at {self.position}"
            return f"add tag {self.tag!r} ({where})"
        if self.kind == "remove":
            return f"remove tag {', '.join(map(repr, self.tags))}"
        if self.kind == "replace":
            return f"replace tag {self.tag!r} with {self.new!r}"
        if self.kind == "find_replace":
            return f"replace {self.find!r} with {self.replace!r} in captions"
        if self.kind == "sort":
            return (
                "sort tags"
                + (" by frequency" if self.by_frequency else "")
                + (f" (keep first {self.keep_first})" if self.keep_first else "")
            )
        if self.kind == "set":
            return "set caption"
        return {"dedupe": "deduplicate tags", "consolidate": "consolidate tags"}[self.kind]

    def apply(self, text: str, tags: list[str] | None = None) -> str:
        """The caption text after this operation (``tags``: ``split_tags(text)`` if already known)."""
        if self.kind == "find_replace":
            return find_replace(text, self.find, self.replace, self.regex, self.ignore_case)
        if self.kind == "set":
            return self.text.strip()
        tags = split_tags(text) if tags is None else tags
        new_tags = self._tag_function()(tags)
        return text if new_tags == tags else join_tags(new_tags)

    def _tag_function(self) -> Callable[[list[str]], list[str]]:
        if self.kind == "add":
            return lambda tags: add_tag(tags, self.tag, self.position)
        if self.kind == "remove":
            return lambda tags: remove_tags(tags, list(self.tags))
        if self.kind == "replace":
            return lambda tags: replace_tag(tags, self.tag, self.new)
        if self.kind == "dedupe":
            return dedupe_tags
        if self.kind == "sort":
            return lambda tags: sort_tags(tags, self.keep_first, self.frequency if self.by_frequency else None)
        if self.kind == "consolidate":
            return consolidate_tags
        raise LorapilotError(f"unknown operation {self.kind!r}")


def make_op(kind: str, **params) -> BulkOp:
    """Build and validate an operation; errors name the missing or bad field."""
    if kind not in OP_KINDS:
        raise LorapilotError(f"unknown operation {kind!r}; expected one of {', '.join(OP_KINDS)}")
    if "tags" in params and params["tags"] is not None:
        params["tags"] = tuple(t.strip() for t in params["tags"] if t.strip())
    params = {k: v for k, v in params.items() if v is not None}
    op = BulkOp(kind=kind, **params)
    if kind in ("add", "replace") and not op.tag.strip():
        raise LorapilotError(f"{kind}: field 'tag' must not be empty")
    if kind in ("add",) and "," in op.tag:
        raise LorapilotError(f"add: tag {op.tag!r} must not contain a comma")
    if kind == "replace" and "," in op.new:
        raise LorapilotError(f"replace: new tag {op.new!r} must not contain a comma")
    if kind == "remove" and not op.tags:
        raise LorapilotError("remove: field 'tags' must list at least one tag")
    if kind == "find_replace":
        find_replace("", op.find, op.replace, op.regex, op.ignore_case)  # validates the pattern
    if op.keep_first < 0:
        raise LorapilotError("sort: field 'keep_first' must be >= 0")
    return op

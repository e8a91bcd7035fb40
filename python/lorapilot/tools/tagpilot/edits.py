"""Caption edits that reach the disk: single edits with a version check, bulk preview and apply, undo, redo.

All writes go through :class:`edit_history.EditHistory` under the dataset lock, so
each is undoable and none silently overwrites a change made in between.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass

from lorapilot.kit.errors import ConflictError, LorapilotError
from lorapilot.tools.tagpilot.captions import Caption, encode_caption, read_caption, split_tags
from lorapilot.tools.tagpilot.dataset import Dataset, caption_name
from lorapilot.tools.tagpilot.edit_history import Change, EditHistory, Entry
from lorapilot.tools.tagpilot.index import ImageRecord, dataset_tag_frequency, get_record, scan
from lorapilot.tools.tagpilot.query import parse_query
from lorapilot.tools.tagpilot.tags import BulkOp


class StaleCaptionError(ConflictError):
    """An edit based on an old version; carries the caption as it is now."""

    def __init__(self, image: str, current: Caption):
        self.image = image
        self.current = current
        super().__init__(f"caption of {image!r} changed since it was read (now version {current.version or 'none'})")


@dataclass(frozen=True)
class FileDiff:
    """How one caption changes."""

    image: str
    version: str  # the version the change is based on
    before: str
    after: str
    added: list[str]
    removed: list[str]

    def to_dict(self) -> dict:
        return asdict(self)

    def unified(self) -> str:
        """A unified diff of the caption file, for the CLI."""
        name = caption_name(self.image)
        lines = difflib.unified_diff([self.before + "\n"], [self.after + "\n"], f"a/{name}", f"b/{name}")
        return "".join(lines)


@dataclass(frozen=True)
class Preview:
    description: str
    selected: int
    diffs: list[FileDiff]

    def to_dict(self, limit: int | None = None) -> dict:
        shown = self.diffs if limit is None else self.diffs[:limit]
        return {
            "description": self.description,
            "selected": self.selected,
            "changed": len(self.diffs),
            "diffs": [d.to_dict() for d in shown],
            "truncated": len(shown) < len(self.diffs),
            "expected": {d.image: d.version for d in self.diffs},
        }


def select(ds: Dataset, query: str | None = None, images: list[str] | None = None) -> list[ImageRecord]:
    """The records a bulk operation acts on: all, those matching ``query``, and/or the named ``images``."""
    compiled = parse_query(query)
    records = scan(ds, with_sizes=compiled.needs_sizes)
    if images is not None:
        wanted = set(images)
        unknown = wanted - {r.name for r in records}
        if unknown:
            raise LorapilotError(f"dataset {ds.name!r} has no image {sorted(unknown)[0]!r}")
        records = [r for r in records if r.name in wanted]
    return compiled.filter(records)


def _with_frequency(op: BulkOp, ds: Dataset) -> BulkOp:
    if op.kind == "sort" and op.by_frequency and op.frequency is None:
        from dataclasses import replace

        return replace(op, frequency=dict(dataset_tag_frequency(ds)))
    return op


def _diffs(op: BulkOp, records: list[ImageRecord]) -> list[FileDiff]:
    diffs = []
    for record in records:
        before = record.caption.text
        old_tags = record.caption.tags
        after = op.apply(before, old_tags)
        if after == before:
            continue
        new_tags = split_tags(after)
        old_set, new_set = {t.lower() for t in old_tags}, {t.lower() for t in new_tags}
        diffs.append(
            FileDiff(
                image=record.name,
                version=record.caption.version,
                before=before,
                after=after,
                added=[t for t in new_tags if t.lower() not in old_set],
                removed=[t for t in old_tags if t.lower() not in new_set],
            )
        )
    return diffs


def preview_op(ds: Dataset, op: BulkOp, query: str | None = None, images: list[str] | None = None) -> Preview:
    """Which captions ``op`` would change, and how; writes nothing."""
    op = _with_frequency(op, ds)
    records = select(ds, query, images)
    return Preview(description=op.describe(), selected=len(records), diffs=_diffs(op, records))


def apply_op(
    ds: Dataset,
    op: BulkOp,
    query: str | None = None,
    images: list[str] | None = None,
    expected: dict[str, str] | None = None,
) -> Entry:
    """Apply ``op`` as one undoable history entry.

    With ``expected`` (image → version, as a preview returned it) exactly those
    files are changed, and only if none changed since the preview; otherwise
    ConflictError names them.
    """
    op = _with_frequency(op, ds)
    with EditHistory(ds) as history, ds.lock():
        if expected is not None:
            images = sorted(expected)
        records = select(ds, query if expected is None else None, images)
        if expected is not None:
            stale = [r.name for r in records if r.caption.version != expected[r.name]]
            if stale:
                raise ConflictError(
                    f"{len(stale)} caption(s) changed since the preview, e.g. {caption_name(stale[0])!r}; preview again"
                )
        changes = []
        for record in records:
            after = op.apply(record.caption.text, record.caption.tags)
            if after != record.caption.text:
                changes.append(Change(record.name, record.caption.raw, encode_caption(after)))
        return history.record(op.describe(), "bulk", _op_json(op), changes)


def _change_set(preview: Preview) -> dict[str, tuple[str, str]]:
    return {d.image: (d.before, d.after) for d in preview.diffs}


def apply_previewed(
    ds: Dataset, op: BulkOp, shown: Preview, query: str | None = None, images: list[str] | None = None
) -> tuple[Entry | None, Preview | None]:
    """Apply exactly what ``shown`` (a preview) showed: ``(entry, None)``; or ``(None, fresh)``
    when captions changed since and the change set is no longer the same.

    Another writer (a captioner, the web UI) may touch captions between the preview and
    the apply. Then the preview is taken again under the dataset lock, so no writer that
    takes it can slip in, and applied at once when every file would change from the same
    text to the same text as shown (a rewrite of identical text, an edit and its undo).
    """
    try:
        return apply_op(ds, op, expected={d.image: d.version for d in shown.diffs}), None
    except ConflictError:
        pass
    with ds.lock():  # re-entrant: apply_op below takes it again
        fresh = preview_op(ds, op, query, images)
        if _change_set(fresh) != _change_set(shown):
            return None, fresh
        return apply_op(ds, op, expected={d.image: d.version for d in fresh.diffs}), None


def _op_json(op: BulkOp) -> dict:
    """The operation's non-default fields, for the history list."""
    default = BulkOp(kind=op.kind)
    return {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in asdict(op).items()
        if k == "kind" or (k != "frequency" and v != getattr(default, k))
    }


def edit_caption(ds: Dataset, image: str, text: str, base_version: str) -> Caption:
    """Write one caption if it is still at ``base_version``; else StaleCaptionError with the current text."""
    ds.image_path(image)
    with EditHistory(ds) as history, ds.lock():
        current = read_caption(ds.caption_path(image), ds.boundary)
        if current.version != base_version:
            raise StaleCaptionError(image, current)
        new = encode_caption(text)
        if new == (current.raw if current.exists else b""):
            return current
        history.record(f"edit caption of {image}", "edit", None, [Change(image, current.raw, new)])
        return read_caption(ds.caption_path(image), ds.boundary)


def undo(ds: Dataset) -> Entry:
    with EditHistory(ds) as history, ds.lock():
        return history.undo()


def redo(ds: Dataset) -> Entry:
    with EditHistory(ds) as history, ds.lock():
        return history.redo()


def history_state(ds: Dataset, limit: int = 50) -> dict:
    with EditHistory(ds) as history:
        return {
            "entries": [e.to_dict() for e in history.entries(limit)],
            "can_undo": history.can_undo(),
            "can_redo": history.can_redo(),
        }


def image_detail(ds: Dataset, image: str) -> dict:
    return get_record(ds, image).to_dict()

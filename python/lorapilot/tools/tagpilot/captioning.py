"""Run a captioner over a dataset as one undoable history entry, with progress and cancel.

A captioner is anything with ``name`` and ``caption(path) -> CaptionOutput``
(:mod:`wd14`, :mod:`vlm`). The *mode* says what happens to an existing caption:
``ignore`` skips captioned images, ``append`` adds what is new (tags not yet
present), ``overwrite`` replaces it. Every written caption is recorded in the
history as it is written, so a cancelled or failed run keeps (and can undo)
what it did so far.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Cancelled, Progress, check_cancel, no_progress
from lorapilot.tools.tagpilot.captions import encode_caption, join_tags, read_caption, split_tags
from lorapilot.tools.tagpilot.dataset import Dataset
from lorapilot.tools.tagpilot.edit_history import Change, EditHistory, write_caption_bytes
from lorapilot.tools.tagpilot.edits import select

Mode = Literal["ignore", "append", "overwrite"]
MODES = ("ignore", "append", "overwrite")


@dataclass(frozen=True)
class CaptionOutput:
    """What a captioner says about one image: tags (a tagger) or free text (a VLM)."""

    tags: list[str] | None = None
    text: str | None = None

    def as_text(self) -> str:
        return join_tags(self.tags) if self.tags is not None else (self.text or "").strip()


class Captioner(Protocol):
    name: str

    def caption(self, path: Path) -> CaptionOutput: ...


class ImageError(LorapilotError):
    """This one image cannot be captioned (undecodable, refused by the model); the run goes on."""


@dataclass
class CaptionRunReport:
    captioner: str
    mode: str
    selected: int = 0
    written: int = 0
    skipped: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)
    cancelled: bool = False
    history_entry: int | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def merge(existing: str, output: CaptionOutput, mode: Mode) -> str:
    """The new caption text for ``existing`` under ``mode``."""
    new_text = output.as_text()
    if mode == "overwrite" or not existing.strip():
        return new_text
    if output.tags is not None:  # append only tags not present yet
        present = {t.lower() for t in split_tags(existing)}
        extra = [t for t in output.tags if t.lower() not in present]
        return join_tags(split_tags(existing) + extra) if extra else existing
    return f"{existing.rstrip().rstrip(',')}, {new_text}" if new_text else existing


def run_captioner(
    ds: Dataset,
    captioner: Captioner,
    mode: Mode = "ignore",
    query: str | None = None,
    images: list[str] | None = None,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> CaptionRunReport:
    """Caption the selected images; errors of single images are reported, not fatal."""
    if mode not in MODES:
        raise LorapilotError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    records = select(ds, query, images)
    report = CaptionRunReport(captioner=captioner.name, mode=mode, selected=len(records))
    # The captioners read still images; a clip keeps its caption (write it, or caption its extracted frames).
    todo = [r for r in records if not r.is_clip and not (mode == "ignore" and r.captioned)]
    report.skipped = len(records) - len(todo)
    if hasattr(captioner, "watch_cancel"):  # local models can stop inside one image's generation
        captioner.watch_cancel(cancel)
    with EditHistory(ds) as history:
        with ds.lock():
            entry_id = history.begin(
                f"caption with {captioner.name} ({mode})", "captioner", {"captioner": captioner.name, "mode": mode}
            )
        report.history_entry = entry_id
        try:
            for index, record in enumerate(todo):
                check_cancel(cancel)
                progress(index, len(todo), record.name)
                try:
                    output = captioner.caption(ds.path / record.name)
                except ImageError as exc:
                    report.errors.append({"image": record.name, "error": str(exc)})
                    continue
                _write(ds, history, entry_id, record.name, output, mode, report)
            progress(len(todo), len(todo), "done")
        except Cancelled:
            report.cancelled = True
        finally:
            with ds.lock():
                entry = history.finish(entry_id)
            report.history_entry = entry.id if entry.files else None
    return report


def _write(
    ds: Dataset,
    history: EditHistory,
    entry_id: int,
    image: str,
    output: CaptionOutput,
    mode: Mode,
    report: CaptionRunReport,
) -> None:
    # Read the caption again under the lock: someone may have edited it while the model ran.
    with ds.lock():
        current = read_caption(ds.caption_path(image), ds.boundary)
        if mode == "ignore" and current.exists and current.text:
            report.skipped += 1
            return
        new_text = merge(current.text, output, mode)
        new = encode_caption(new_text)
        if current.exists and new == current.raw or (not current.exists and not new):
            report.unchanged += 1
            return
        history.add_change(entry_id, Change(image, current.raw, new))
        write_caption_bytes(ds, image, new)
        report.written += 1

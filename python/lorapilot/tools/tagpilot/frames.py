"""Frames out of a dataset's clips into a still dataset: every N frames, or at each scene change (ffmpeg).

Each frame starts with its clip's caption. Frames are written into a staging folder inside the source
dataset's state folder and imported (moved) into the target only when every clip is done, so a cancel
or an error leaves the target as it was.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.kit.safepath import resolve_inside
from lorapilot.kit.videofiles import ClipError, extract_frames, frame_filter, probe_clip
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot.dataset import Dataset, caption_name, create_dataset, open_dataset, validate_dataset_name
from lorapilot.tools.tagpilot.importer import import_folder
from lorapilot.tools.tagpilot.index import scan


@dataclass
class FramesReport:
    """What an extraction did: frames per clip, where they went, and clips that failed (by name)."""

    into: str
    created: bool = False
    frames: dict[str, int] = field(default_factory=dict)  # clip → frames written
    imported: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "into": self.into,
            "created": self.created,
            "frames": self.frames,
            "imported": self.imported,
            "errors": self.errors,
        }


def check_frames_request(
    ws: Workspace, ds: Dataset, into: str, every: int | None, scene: float | None, clips: list[str] | None = None
) -> tuple[str, list[str]]:
    """Everything that would make the extraction fail, checked before any work: (ffmpeg filter, clip names)."""
    select = frame_filter(every, scene)
    validate_dataset_name(into)
    if into == ds.name:
        raise LorapilotError(f"frames go into another dataset than {ds.name!r}: pick a new name for --into")
    all_clips = [r.name for r in scan(ds, with_sizes=False) if r.is_clip]
    if clips is not None:
        unknown = sorted(set(clips) - set(all_clips))
        if unknown:
            raise LorapilotError(f"dataset {ds.name!r} has no clip {unknown[0]!r}")
        all_clips = [c for c in all_clips if c in set(clips)]
    if not all_clips:
        raise LorapilotError(f"dataset {ds.name!r} has no clips (mp4, webm, mov) to take frames from")
    target = resolve_inside(ws.datasets, into)
    if target.exists() and not target.is_dir():
        raise LorapilotError(f"{target} exists and is not a dataset folder")
    return select, all_clips


def extract_dataset_frames(
    ws: Workspace,
    ds: Dataset,
    into: str,
    every: int | None = None,
    scene: float | None = None,
    clips: list[str] | None = None,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> FramesReport:
    """Extract frames of ``ds``'s clips (all, or the named ``clips``) into dataset ``into`` (created when missing).

    Frames are named ``<clip>-NNNN.png`` (``-N`` added on a clash) and captioned with their clip's caption.
    Progress counts seconds of video read across all clips; a clip ffmpeg cannot read is reported by name.
    """
    select, names = check_frames_request(ws, ds, into, every, scene, clips)
    infos = {}
    report = FramesReport(into=into)
    for name in names:
        try:
            infos[name] = probe_clip(ds.path / name)
        except ClipError as exc:
            report.errors.append({"clip": name, "error": str(exc)})
    total = sum(info.duration for info in infos.values()) or 1.0
    staging = ds.state_dir / f"frames-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        done = 0.0
        for index, (name, info) in enumerate(infos.items()):
            check_cancel(cancel)
            stem = os.path.splitext(name)[0]
            # A folder per clip: walk.mp4 and walk.webm both make walk-0001.png (the import renames one).
            folder = staging / f"{index:05d}"
            offset = done
            try:
                written = extract_frames(
                    ds.path / name,
                    folder,
                    stem,
                    select,
                    info.duration,
                    progress=lambda current, _total=None, message="", o=offset: progress(o + current, total, message),
                    cancel=cancel,
                )
            except ClipError as exc:
                report.errors.append({"clip": name, "error": str(exc)})
                shutil.rmtree(folder, ignore_errors=True)  # no half a clip's frames
                continue
            caption = ds.caption_path(name)
            if caption.is_file():
                for frame in written:
                    shutil.copyfile(caption, folder / caption_name(frame.name))
            report.frames[name] = len(written)
            done += info.duration
            progress(done, total, name)
        check_cancel(cancel)
        target_path = resolve_inside(ws.datasets, into)
        if target_path.is_dir():
            target = open_dataset(ws, into)
        else:
            target, report.created = create_dataset(ws, into), True
        report.imported = import_folder(target, staging, move=True).imported
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(total, total, "done")
    return report

"""Export a dataset for the trainers, and the "train this" handoff for TrainPilot.

Formats (key names checked against the upstream sources, see docs):

- kohya (sd-scripts / Kohya GUI): an ``img/<repeats>_<concept>/`` folder of
  hard links (copies across file systems) to the images and captions, plus a
  dataset TOML: ``[general]``, ``[[datasets]]`` (resolution, batch_size,
  enable_bucket, bucket limits), ``[[datasets.subsets]]`` (image_dir,
  num_repeats, caption_extension — sd-scripts' DreamBooth default is
  ``.caption``, so it is always written).
- AI Toolkit: one entry of a job's ``datasets:`` list (folder_path,
  caption_ext, resolution, num_repeats, trigger_word, ...), as YAML.
- Diffusion Pipe: a dataset TOML (resolutions, enable_ar_bucket, ...,
  ``[[directory]]`` path + num_repeats). Its layout is the dataset folder itself: images and video clips
  (mp4/webm/mov), each beside its ``.txt`` caption; ``frame_buckets`` fit the clips. Kohya's folder
  leaves clips out (sd-scripts reads images only).

AI Toolkit and Diffusion Pipe read the dataset folder itself (both skip
``.tagpilot/``); only kohya's folder convention needs the linked copy. Each
format's folder is built in a staging folder and renamed into place when whole,
so a cancelled or failed export leaves the previous one untouched.
Everything lands in ``outputs/tagpilot/<dataset>/``; ``outputs/tagpilot/.nomedia`` keeps these
copies of training images out of MediaPilot's gallery of generated media.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
import yaml

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.progress import Progress, check_cancel, last_cancel_point, no_progress
from lorapilot.kit.safepath import PathEscapeError, escapes
from lorapilot.kit.videofiles import frame_buckets
from lorapilot.stack.handoff import DatasetHandoff
from lorapilot.stack.handoff import read_handoff as stack_read_handoff
from lorapilot.stack.handoff import write_handoff as stack_write_handoff
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot.dataset import Dataset, caption_name
from lorapilot.tools.tagpilot.index import scan

FORMATS = ("kohya", "ai-toolkit", "diffusion-pipe")
EXPORT_FRAMERATE = 16  # the lowest frame rate of Diffusion Pipe's video models (Wan): its buckets fit all
_MARKER = ".tagpilot-export"


@dataclass
class ExportOptions:
    formats: tuple[str, ...] = FORMATS
    repeats: int = 10
    resolution: int = 1024
    trigger_word: str | None = None
    concept: str | None = None  # kohya folder's name part; default: trigger word, else dataset name
    batch_size: int = 1
    caption_dropout_rate: float = 0.0


@dataclass
class ExportResult:
    root: Path
    files: dict[str, str] = field(default_factory=dict)  # what → absolute path
    handoff: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"root": str(self.root), "files": self.files, "handoff": self.handoff, "warnings": self.warnings}


def export_root(ws: Workspace, ds: Dataset) -> Path:
    return ws.outputs / "tagpilot" / ds.name


def _mark_not_media(folder: Path) -> None:
    """MediaPilot skips a folder holding ``.nomedia``: exports are training input, not generated media."""
    marker = folder / ".nomedia"
    if not marker.exists():
        atomic_write_text(
            marker, "TagPilot exports: training images, not generated media (MediaPilot skips this folder)\n"
        )


def _validate(options: ExportOptions) -> None:
    unknown = set(options.formats) - set(FORMATS)
    if unknown:
        raise LorapilotError(f"unknown export format {sorted(unknown)[0]!r}; known: {', '.join(FORMATS)}")
    if not 1 <= options.repeats <= 10_000:
        raise LorapilotError(f"repeats must be between 1 and 10000, got {options.repeats}")
    if not 64 <= options.resolution <= 8192:
        raise LorapilotError(f"resolution must be between 64 and 8192, got {options.resolution}")
    if options.trigger_word is not None and ("," in options.trigger_word or not options.trigger_word.strip()):
        raise LorapilotError(f"trigger word {options.trigger_word!r} must be non-empty and contain no comma")
    concept = options.concept
    if concept is not None and (not concept or "/" in concept or concept.startswith(".")):
        raise LorapilotError(f"concept {concept!r} must be a plain folder name")


def _link_or_copy(source: Path, target: Path, roots) -> None:
    """Hard-link (else copy) the file ``source`` names; a link out of ``roots`` is refused.

    The link's target is linked, not the link: a hard link to a symlink would
    hand the trainer whatever the symlink points at later.
    """
    if escapes(source, roots):
        raise PathEscapeError(f"{source.name!r} links outside the workspace; not exported")
    source = Path(os.path.realpath(source))
    try:
        os.link(source, target)
    except OSError:  # another file system (EXDEV), or links not allowed: a full copy
        shutil.copyfile(source, target)


# Exports written before the marker existed held only this file; such a folder is still ours to replace.
_LEGACY_FILES = {"ai-toolkit": {"dataset.yaml"}, "diffusion-pipe": {"dataset.toml"}}
_STAGING_PREFIX = ".export-"
_STALE_STAGING_S = 6 * 3600


def _check_replaceable(root: Path, fmt: str) -> None:
    """Refuse, before any work, to replace a folder TagPilot did not generate (each format owns ``root/<format>/``)."""
    target = root / fmt
    if not target.exists() or (target / _MARKER).exists():
        return
    if target.is_dir() and {p.name for p in target.iterdir()} <= _LEGACY_FILES.get(fmt, set()):
        return
    raise LorapilotError(f"{target} exists and was not made by TagPilot; move it away first")


def _swap_in(staging: Path, fmt: str, root: Path) -> None:
    """Rename ``staging/<fmt>`` to ``root/<fmt>``; the folder it replaces moves into ``staging`` (deleted with it)."""
    target = root / fmt
    if target.exists():
        os.rename(target, staging / f"{fmt}.replaced")
    os.rename(staging / fmt, target)


def _remove_stale_staging(root: Path) -> None:
    """Staging folders a killed process left behind (a live export's folder is younger than this)."""
    for leftover in root.glob(f"{_STAGING_PREFIX}*.partial"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > _STALE_STAGING_S:
                shutil.rmtree(leftover)


def _kohya(
    ds: Dataset, images: list[str], root: Path, staging: Path, options: ExportOptions, concept: str, step
) -> dict:
    folder_name = f"{options.repeats}_{concept}"
    image_dir = staging / "img" / folder_name
    image_dir.mkdir(parents=True)
    for image in images:
        step(f"kohya: {image}")
        _link_or_copy(ds.path / image, image_dir / image, ds.boundary)
        caption = ds.caption_path(image)
        if caption.exists() and not escapes(caption, ds.boundary):
            _link_or_copy(caption, image_dir / caption_name(image), ds.boundary)
    final_dir = root / "kohya" / "img" / folder_name
    general = {"caption_extension": ".txt", "shuffle_caption": False, "keep_tokens": 1 if options.trigger_word else 0}
    config = {
        "general": general,
        "datasets": [
            {
                "resolution": options.resolution,
                "batch_size": options.batch_size,
                "enable_bucket": True,
                "min_bucket_reso": 256,
                "max_bucket_reso": 2 * options.resolution,
                "bucket_no_upscale": True,
                "subsets": [
                    {
                        "image_dir": str(final_dir),
                        "num_repeats": options.repeats,
                        "caption_extension": ".txt",
                        "caption_dropout_rate": options.caption_dropout_rate,
                    }
                ],
            }
        ],
    }
    (staging / "dataset.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    return {
        "kohya_train_data_dir": str(root / "kohya" / "img"),
        "kohya_image_dir": str(final_dir),
        "kohya_dataset_toml": str(root / "kohya" / "dataset.toml"),
    }


def _ai_toolkit(ds: Dataset, root: Path, staging: Path, options: ExportOptions) -> dict:
    resolutions = [r for r in (512, 768, 1024) if r <= options.resolution] or [options.resolution]
    if options.resolution not in resolutions:
        resolutions.append(options.resolution)
    entry = {
        "folder_path": str(ds.path),
        "caption_ext": "txt",
        "caption_dropout_rate": options.caption_dropout_rate,
        "shuffle_tokens": False,
        "cache_latents_to_disk": True,
        "resolution": resolutions,
        "num_repeats": options.repeats,
    }
    if options.trigger_word:
        entry["trigger_word"] = options.trigger_word
    header = "# AI Toolkit: paste this entry under config.process[0].datasets of a job file.\n"
    (staging / "dataset.yaml").write_text(header + yaml.safe_dump([entry], sort_keys=False), encoding="utf-8")
    return {"ai_toolkit_dataset_yaml": str(root / "ai-toolkit" / "dataset.yaml")}


def _diffusion_pipe(ds: Dataset, root: Path, staging: Path, options: ExportOptions, clips: list) -> dict:
    # The model is not known here: buckets counted at the lowest video frame rate (Wan's 16) fit every model.
    durations = [r.clip.duration for r in clips if r.clip is not None]
    config = {
        "resolutions": [options.resolution],
        "enable_ar_bucket": True,
        "min_ar": 0.5,
        "max_ar": 2.0,
        "num_ar_buckets": 7,
        "frame_buckets": frame_buckets(durations, EXPORT_FRAMERATE),
        "directory": [{"path": str(ds.path), "num_repeats": options.repeats}],
    }
    (staging / "dataset.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    return {"diffusion_pipe_dataset_toml": str(root / "diffusion-pipe" / "dataset.toml")}


def check_export(ws: Workspace, ds: Dataset, options: ExportOptions) -> list:
    """Everything that would make the export fail, checked before any work; returns the dataset's records.

    The API calls it before starting the task, so bad options are a 400 at once, not a failed task.
    """
    _validate(options)
    records = scan(ds, with_sizes=False)
    if not records:
        raise LorapilotError(f"dataset {ds.name!r} has no images to export")
    for fmt in options.formats:
        _check_replaceable(export_root(ws, ds), fmt)
    return records


def export_dataset(
    ws: Workspace,
    ds: Dataset,
    options: ExportOptions = ExportOptions(),
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Write the chosen formats and the handoff file; returns where everything is.

    Everything is built in a staging folder beside the export and renamed into place only when complete:
    a cancel (``cancel`` set, :class:`~lorapilot.kit.progress.Cancelled`), an error or Ctrl-C leaves the
    previous export as it was and no half-written one. Progress counts kohya's images (linked, or copied
    when ``outputs/`` is on another file system) and one step per config file.
    """
    records = check_export(ws, ds, options)
    root = export_root(ws, ds)
    root.mkdir(parents=True, exist_ok=True)
    _mark_not_media(root.parent)
    _remove_stale_staging(root)
    formats = [f for f in FORMATS if f in options.formats]
    concept = (options.concept or options.trigger_word or ds.name).strip().replace(" ", "_")
    clips = [r for r in scan(ds) if r.is_clip] if any(r.is_clip for r in records) else []
    images = [r.name for r in records if not r.is_clip]  # kohya reads still images only
    total = (len(images) if "kohya" in formats else 0) + len(formats)
    done = 0

    def step(message: str) -> None:
        """The next step begins: stop here if cancelled, else report how many are complete."""
        nonlocal done
        check_cancel(cancel)
        progress(done, total, message)
        done += 1

    result = ExportResult(root=root)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, suffix=".partial", dir=root))
    try:
        for fmt in formats:
            folder = staging / fmt
            folder.mkdir()
            (folder / _MARKER).write_text("generated by TagPilot; rebuilt on every export\n")
            if fmt == "kohya":
                result.files.update(_kohya(ds, images, root, folder, options, concept, step))
                step("kohya: dataset.toml")
            elif fmt == "ai-toolkit":
                step("ai-toolkit: dataset.yaml")
                result.files.update(_ai_toolkit(ds, root, folder, options))
            else:
                step("diffusion-pipe: dataset.toml")
                result.files.update(_diffusion_pipe(ds, root, folder, options, clips))
        last_cancel_point(cancel)
        # Past the last cancel point: a few renames, under the dataset's lock (across processes), so two
        # exports of one dataset never swap at the same time.
        with ds.lock():
            for fmt in formats:
                _check_replaceable(root, fmt)
            for fmt in formats:
                _swap_in(staging, fmt, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(total, total, "done")
    if clips:
        result.warnings.append(
            f"{len(clips)} video clip(s): only Diffusion Pipe's export trains on them (Wan, HunyuanVideo, LTX-Video); "
            "kohya's folder leaves them out and AI Toolkit's image entry skips them"
        )
        unread = [r.name for r in clips if r.clip is None]
        if unread:
            result.warnings.append(
                f"ffprobe cannot read {len(unread)} clip(s), e.g. {unread[0]}: Diffusion Pipe skips them"
            )
    uncaptioned = sum(1 for r in records if not r.captioned)
    if uncaptioned:
        result.warnings.append(f"{uncaptioned} image(s) have no caption")
    if options.trigger_word:
        missing = sum(1 for r in records if options.trigger_word.lower() not in {t.lower() for t in r.tags})
        if missing:
            result.warnings.append(
                f"{missing} caption(s) lack the trigger word {options.trigger_word!r} (kohya and Diffusion Pipe do not add it; "
                "use the bulk 'add tag' operation)"
            )
    result.handoff = write_handoff(ds, records=records, options=options)
    return result


def write_handoff(
    ds: Dataset,
    records=None,
    options: ExportOptions | None = None,
    *,
    trigger_word: str | None = None,
    repeats: int | None = None,
    resolution: int | None = None,
) -> dict:
    """Write ``.tagpilot/handoff.json``, the "train this" data TrainPilot reads.

    An export hands over its ``options``; without them ("train this" before any export) only the values
    given are written and the others stay null, so TrainPilot's preset picks the family's own resolution
    and repeats instead of TagPilot's export defaults.
    """
    if options is not None:
        trigger_word, repeats, resolution = options.trigger_word, options.repeats, options.resolution
    else:
        _validate(ExportOptions(trigger_word=trigger_word, repeats=repeats or 1, resolution=resolution or 64))
    records = scan(ds, with_sizes=False) if records is None else records
    handoff = DatasetHandoff(
        dataset=ds.name,
        image_dir=str(Path(ds.path).absolute()),
        caption_extension=".txt",
        num_images=len(records),
        captioned=sum(1 for r in records if r.captioned),
        trigger_word=trigger_word,
        repeats=repeats,
        resolution=resolution,
    )
    return stack_write_handoff(ds.path, handoff)


def read_handoff(ds: Dataset) -> dict | None:
    """The last export's handoff, or None before the first export; a broken file raises ConfigError."""
    handoff = stack_read_handoff(ds.path)
    return None if handoff is None else handoff.to_dict()

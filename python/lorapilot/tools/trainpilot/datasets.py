"""Datasets as TrainPilot sees them: ``datasets/<name>/`` folders of images (and video clips) with caption sidecars.

When TagPilot has prepared a dataset ("train this") it leaves ``.tagpilot/handoff.json`` with
``{dataset, image_dir, caption_extension, num_images, captioned, trigger_word, repeats, resolution}``;
TrainPilot prefills a new profile from it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lorapilot.kit.errors import ConfigError, NotFoundError
from lorapilot.kit.imagefiles import is_image_name
from lorapilot.kit.safepath import PathEscapeError, check_name, confined_entries, escapes, open_confined, resolve_inside
from lorapilot.kit.videofiles import is_clip_name
from lorapilot.stack.handoff import read_handoff as stack_read_handoff
from lorapilot.stack.workspace.layout import Workspace


@dataclass
class DatasetInfo:
    name: str
    path: Path
    image_dir: Path
    caption_extension: str
    num_images: int
    num_captioned: int  # images and clips with a caption
    missing_captions: list[str] = field(default_factory=list)  # first few images (or clips) without a caption
    sample_captions: list[str] = field(default_factory=list)
    handoff: dict | None = None
    handoff_error: str | None = None
    num_clips: int = 0  # video clips (mp4/webm/mov): only trainers that take video read them
    clips: list[str] = field(default_factory=list)  # the first few clip names

    @property
    def trigger_word(self) -> str:
        return str((self.handoff or {}).get("trigger_word") or "")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        data["image_dir"] = str(self.image_dir)
        data["trigger_word"] = self.trigger_word
        return data


def read_handoff(dataset_dir: Path) -> tuple[dict | None, str | None]:
    """TagPilot's handoff for ``dataset_dir``: (data, None), (None, error) or (None, None) when absent."""
    try:
        handoff = stack_read_handoff(dataset_dir)
    except ConfigError as exc:
        return None, str(exc)
    return (None if handoff is None else handoff.to_dict()), None


def _image_dir(ws: Workspace, dataset_dir: Path, handoff: dict | None) -> Path:
    wanted = (handoff or {}).get("image_dir")
    if not wanted:
        return dataset_dir
    for root in (dataset_dir, ws.root):
        try:
            candidate = resolve_inside(ws.root, Path(root) / wanted if not os.path.isabs(wanted) else wanted)
        except PathEscapeError:
            continue
        if candidate.is_dir():
            return candidate
    return dataset_dir


def _roots(ws: Workspace) -> tuple[Path, Path]:
    """Where dataset files may resolve: the workspace, and ``datasets/`` when it links to another volume."""
    return ws.root, ws.datasets


def _dataset_dir(ws: Workspace, name: str) -> Path:
    """``datasets/<name>``, refused when it links outside the workspace (as TagPilot refuses it)."""
    check_name(name, "dataset name")
    path = ws.datasets / name
    if escapes(path, _roots(ws)):
        raise PathEscapeError(f"dataset {name!r} links outside the workspace")
    return path


def image_dir_of(ws: Workspace, name: str) -> Path:
    """Where a dataset's images are (TagPilot's handoff may name a subfolder), without reading them."""
    path = _dataset_dir(ws, name)
    return _image_dir(ws, path, read_handoff(path)[0])


def list_images(image_dir: Path, roots=None) -> list[Path]:
    """Images directly in ``image_dir`` (what every trainer reads), sorted by name.

    Links that resolve outside ``roots`` (default: ``image_dir``) are not images of the dataset.
    """
    try:
        entries = confined_entries(image_dir, roots if roots is not None else image_dir)
    except FileNotFoundError:
        return []
    return sorted(Path(e.path) for e in entries if e.is_file() and is_image_name(e.name))


def list_clips(image_dir: Path, roots=None) -> list[Path]:
    """Video clips directly in ``image_dir`` (what Diffusion Pipe reads beside the images), sorted by name."""
    try:
        entries = confined_entries(image_dir, roots if roots is not None else image_dir)
    except FileNotFoundError:
        return []
    return sorted(Path(e.path) for e in entries if e.is_file() and is_clip_name(e.name))


def inspect_dataset(ws: Workspace, name: str, caption_extension: str | None = None) -> DatasetInfo:
    """Count images and captions of ``datasets/<name>``; NotFoundError when the folder is missing."""
    path = _dataset_dir(ws, name)
    if not path.is_dir():
        raise NotFoundError(f"no dataset {name!r}: {path} is not a folder")
    handoff, handoff_error = read_handoff(path)
    ext = caption_extension or (handoff or {}).get("caption_extension") or ".txt"
    if not ext.startswith("."):
        ext = "." + ext
    image_dir = _image_dir(ws, path, handoff)
    images = list_images(image_dir, _roots(ws))
    clips = list_clips(image_dir, _roots(ws))
    captioned, missing, samples = 0, [], []
    for image in images + clips:
        caption = image.with_suffix(ext)
        try:
            with open_confined(caption, _roots(ws)) as fh:
                text = fh.read().decode("utf-8", errors="replace").strip()
        except (FileNotFoundError, IsADirectoryError, PathEscapeError):
            text = ""
        if text:
            captioned += 1
            if len(samples) < 3:
                samples.append(text)
        elif len(missing) < 10:
            missing.append(image.name)
    return DatasetInfo(
        name=name,
        path=path,
        image_dir=image_dir,
        caption_extension=ext,
        num_images=len(images),
        num_captioned=captioned,
        missing_captions=missing,
        sample_captions=samples,
        handoff=handoff,
        handoff_error=handoff_error,
        num_clips=len(clips),
        clips=[c.name for c in clips[:10]],
    )


def list_datasets(ws: Workspace) -> list[DatasetInfo]:
    """Every dataset folder of the workspace."""
    if not ws.datasets.is_dir():
        return []
    out = []
    for entry in sorted(ws.datasets.iterdir()):
        if entry.is_dir() and not entry.name.startswith(".") and not escapes(entry, _roots(ws)):
            out.append(inspect_dataset(ws, entry.name))
    return out

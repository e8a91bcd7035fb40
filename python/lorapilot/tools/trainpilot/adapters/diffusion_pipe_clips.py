"""Diffusion Pipe's video datasets: ``frame_buckets`` fitted to the clips, and clips it would drop.

Diffusion Pipe (utils/dataset.py) counts a clip's frames as the model's frame rate × the clip's duration,
puts it in the longest frame bucket not longer than that, never in the images' bucket 1, and drops a clip
shorter than every video bucket.
"""

from __future__ import annotations

from lorapilot.kit.videofiles import ClipError, frame_buckets, frames_at, probe_clip, too_short

from ..datasets import list_clips
from .base import Issue, RunSpec


def _durations(spec: RunSpec) -> tuple[dict[str, float], dict[str, str]]:
    """Clip name → seconds, and clip name → why ffprobe cannot read it."""
    durations, errors = {}, {}
    for clip in list_clips(spec.image_dir):
        try:
            durations[clip.name] = probe_clip(clip).duration
        except ClipError as exc:
            errors[clip.name] = str(exc)
    return durations, errors


def dataset_frame_buckets(spec: RunSpec, framerate: float | None) -> list[int]:
    """``[1]`` for a still dataset (or a family without video); else 1 plus a bucket per clip length."""
    if framerate is None:
        return [1]
    durations, _ = _durations(spec)
    return frame_buckets(list(durations.values()), framerate)


def clip_check_issues(spec: RunSpec, framerate: float | None) -> list[Issue]:
    """Clips ffprobe cannot read (errors, by name) and clips Diffusion Pipe would drop as too short (warnings)."""
    if framerate is None:
        return []  # clips for a still family are refused by validation, naming the trainer
    durations, errors = _durations(spec)
    issues = [Issue("dataset.name", reason) for reason in errors.values()]
    short = [name for name, seconds in durations.items() if too_short(seconds, framerate)]
    if short:
        frames = frames_at(durations[short[0]], framerate)
        issues.append(
            Issue(
                "dataset.name",
                f"{len(short)} clip(s) are too short for a frame bucket and Diffusion Pipe skips them "
                f"(e.g. {short[0]}: {frames} frames at {framerate:g} fps)",
                "warning",
            )
        )
    return issues

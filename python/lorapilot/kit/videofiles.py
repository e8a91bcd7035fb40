"""Video clips: which files are clips, what ffprobe says about them, and frames out of them with ffmpeg.

The one list of clip suffixes every tool uses (TagPilot, TrainPilot). ffmpeg and ffprobe are external
programs (the image installs Debian's ffmpeg); a missing one is a clear error, not a crash.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Cancelled, Progress, no_progress

# Suffixes both Diffusion Pipe (imageio's video extensions) and AI Toolkit read as video.
CLIP_EXTENSIONS: tuple[str, ...] = (".mp4", ".webm", ".mov")
_PROBE_TIMEOUT_S = 60


class ClipError(LorapilotError):
    """A clip ffprobe or ffmpeg cannot read."""


def is_clip_name(name: str) -> bool:
    """Whether a file name has a clip suffix (any case); hidden files are not clips."""
    return not name.startswith(".") and name.lower().endswith(CLIP_EXTENSIONS)


@dataclass(frozen=True)
class ClipInfo:
    """What ffprobe says about a clip's first video stream."""

    width: int
    height: int
    fps: float
    frames: int
    duration: float  # seconds

    def to_dict(self) -> dict:
        return asdict(self)


class FfmpegMissing(ClipError):
    """ffmpeg or ffprobe is not installed: nothing about the clip itself (so not worth caching)."""


def _tool(name: str, clip: Path) -> str:
    found = shutil.which(name)
    if found is None:
        raise FfmpegMissing(
            f"cannot read clip {clip.name}: {name} not found on PATH: install ffmpeg (Debian: apt-get install ffmpeg)"
        )
    return found


def _rate(text: str | None) -> float:
    """``"30000/1001"`` → 29.97; missing or ``0/0`` → 0."""
    if not text or "/" not in text:
        return float(text or 0)
    num, _, den = text.partition("/")
    return float(num) / float(den) if float(den) else 0.0


def _stderr_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given"


def probe_clip(path: Path) -> ClipInfo:
    """Size, frame rate, frame count and duration of ``path``; :class:`ClipError` naming the file otherwise."""
    argv = [
        _tool("ffprobe", path),
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:format=duration",
        "-of",
        "json",
        str(path),
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ClipError(f"cannot read clip {path.name}: ffprobe took longer than {_PROBE_TIMEOUT_S}s") from None
    if done.returncode != 0:
        reason = _stderr_line(done.stderr).replace(f"{path}: ", "")  # the name is said once, first
        raise ClipError(f"cannot read clip {path.name}: ffprobe: {reason}")
    data = json.loads(done.stdout or "{}")
    streams = data.get("streams") or []
    if not streams or not streams[0].get("width"):
        raise ClipError(f"cannot read clip {path.name}: it has no video stream")
    stream = streams[0]
    fps = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))
    duration = float(stream.get("duration") or (data.get("format") or {}).get("duration") or 0)
    # WebM (Matroska) headers carry no frame count: duration × rate is what Diffusion Pipe estimates too.
    frames = int(stream.get("nb_frames") or 0) or round(duration * fps)
    return ClipInfo(
        width=int(stream["width"]), height=int(stream["height"]), fps=round(fps, 3), frames=frames, duration=duration
    )


def clip_frame_png(path: Path, at_seconds: float = 0.0, max_side: int | None = None) -> bytes:
    """One frame of ``path`` (at ``at_seconds``, default the first) as PNG bytes, fitted in ``max_side``."""
    argv = [_tool("ffmpeg", path), "-v", "error", "-nostdin", "-ss", f"{max(0.0, at_seconds):.3f}", "-i", str(path)]
    argv += ["-frames:v", "1"]
    if max_side:
        argv += ["-vf", f"scale={max_side}:{max_side}:force_original_aspect_ratio=decrease"]
    argv += ["-f", "image2pipe", "-c:v", "png", "-"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ClipError(f"cannot read clip {path.name}: ffmpeg took longer than {_PROBE_TIMEOUT_S}s") from None
    except OSError as exc:
        raise ClipError(f"cannot read clip {path.name}: cannot run ffmpeg: {exc}") from None
    if done.returncode != 0 or not done.stdout:
        raise ClipError(f"cannot read clip {path.name}: ffmpeg: {_stderr_line(done.stderr.decode(errors='replace'))}")
    return done.stdout


def poster_frame_png(path: Path, max_side: int | None = None) -> bytes:
    """A clip's thumbnail frame: at one second (past a fade-in from black), or the first of a shorter clip."""
    try:
        return clip_frame_png(path, 1.0, max_side)
    except FfmpegMissing:
        raise
    except ClipError:
        return clip_frame_png(path, 0.0, max_side)


def frame_filter(every: int | None = None, scene: float | None = None) -> str:
    """The ffmpeg ``select`` filter for every ``every``-th frame, or the first frame and each scene change.

    ``scene`` is ffmpeg's scene score threshold (0-1; 0.3 is a common cut detector).
    """
    if (every is None) == (scene is None):
        raise LorapilotError("choose exactly one of --every N or --scene THRESHOLD")
    if every is not None:
        if every < 1:
            raise LorapilotError(f"--every must be 1 or more frames, got {every}")
        return f"select='not(mod(n\\,{every}))'"
    assert scene is not None
    if not 0 < scene < 1:
        raise LorapilotError(f"--scene must be between 0 and 1 (exclusive), got {scene}")
    return f"select='eq(n\\,0)+gt(scene\\,{scene})'"


def extract_frames(
    clip: Path,
    out_dir: Path,
    prefix: str,
    select: str,
    duration: float,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> list[Path]:
    """Write the frames ``select`` (see :func:`frame_filter`) keeps as ``out_dir/<prefix>-NNNN.png``.

    Progress follows ffmpeg's position in the clip (seconds of ``duration``); a set ``cancel`` stops
    ffmpeg and raises :class:`~lorapilot.kit.progress.Cancelled`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    # -fps_mode (ffmpeg 5.1+; -vsync is deprecated): one file per kept frame, none duplicated to fill gaps.
    argv = [_tool("ffmpeg", clip), "-v", "error", "-nostdin", "-i", str(clip), "-vf", select, "-fps_mode", "vfr"]
    argv += ["-progress", "pipe:1", "-nostats", str(out_dir / f"{prefix}-%04d.png")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        for line in proc.stdout or []:
            if cancel is not None and cancel.is_set():
                proc.kill()
                raise Cancelled("cancelled")
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.isdigit() and duration > 0:
                progress(min(duration, int(value) / 1e6), duration, clip.name)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")
    if proc.returncode != 0:
        raise ClipError(f"cannot extract frames from {clip.name}: ffmpeg: {_stderr_line(''.join(stderr))}")
    return sorted(p for p in out_dir.iterdir() if p.name.startswith(prefix + "-") and p.suffix == ".png")


def clip_facts_text(info: ClipInfo) -> str:
    """``2.0 s · 16 frames · 8 fps · 64×48``: how the CLI and the grid show a clip."""
    fps = f"{info.fps:g}"
    return f"{info.duration:.1f} s · {info.frames} frames · {fps} fps · {info.width}×{info.height}"


# Diffusion Pipe's frame buckets: 4k+1 lengths (its models round frames down to 4k+1 anyway), up to 33,
# the length its example dataset uses on a 24 GB card.
FRAME_BUCKET_LADDER: tuple[int, ...] = (9, 17, 25, 33)


def frames_at(duration: float, framerate: float) -> int:
    """How many frames Diffusion Pipe counts in a clip: the model's frame rate × the clip's duration."""
    return int(framerate * duration)


def frame_buckets(durations: list[float], framerate: float) -> list[int]:
    """``frame_buckets`` for a dataset whose clips last ``durations`` seconds, read at ``framerate``.

    1 (the images' bucket, always there) plus, per clip, the longest ladder length the clip covers:
    Diffusion Pipe puts each clip into the longest bucket not longer than it, and drops a clip shorter
    than every video bucket (see :func:`too_short`).
    """
    buckets = {1}
    for duration in durations:
        fitting = [b for b in FRAME_BUCKET_LADDER if b <= frames_at(duration, framerate)]
        if fitting:
            buckets.add(fitting[-1])
    return sorted(buckets)


def too_short(duration: float, framerate: float) -> bool:
    """Whether Diffusion Pipe would drop a clip: shorter than the shortest video frame bucket."""
    return frames_at(duration, framerate) < FRAME_BUCKET_LADDER[0]

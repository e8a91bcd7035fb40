"""Tiny real video clips made with ffmpeg's lavfi test sources: a few frames, with a scene cut."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_clip(path: Path, seconds: float = 1.0, rate: int = 8, size: str = "64x48", scene_cut: bool = True) -> Path:
    """``seconds`` of testsrc, then (with ``scene_cut``) ``seconds`` of the very different testsrc2.

    The codec follows the suffix (.mp4/.mov: H.264, .webm: VP9), as a camera or an editor would write it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    source = f"size={size}:rate={rate}:duration={seconds}"
    argv = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", f"testsrc={source}"]
    if scene_cut:
        argv += ["-f", "lavfi", "-i", f"testsrc2={source}", "-filter_complex", "[0][1]concat=n=2:v=1"]
    codec = ["-c:v", "libvpx-vp9"] if path.suffix == ".webm" else ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    subprocess.run([*argv, *codec, str(path)], check=True, capture_output=True)
    return path

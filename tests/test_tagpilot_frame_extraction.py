"""Frames out of clips into a still dataset: every N frames, at scene changes, cancel, CLI and HTTP task."""

import io
import threading

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lorapilot.cli import cli
from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Cancelled
from lorapilot.kit.videofiles import clip_frame_png
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.frames import extract_dataset_frames
from support.api import make_client
from support.clips import make_clip
from support.tagpilot import wait_task, write_image


@pytest.fixture
def clips(ctx):
    """Dataset ``clips``: walk.mp4 (1 s testsrc, cut, 1 s testsrc2; 8 fps) captioned, wave.webm (no cut) not."""
    ds = datasets.create_dataset(ctx.workspace, "clips")
    make_clip(ds.path / "walk.mp4")
    (ds.path / "walk.txt").write_text("a person walking, outdoors")
    make_clip(ds.path / "wave.webm", scene_cut=False)
    return ds


def _pixels(data) -> np.ndarray:
    return np.asarray(Image.open(data).convert("RGB"), dtype=np.int16)


def test_every_n_frames_keeps_the_clip_caption(ctx, clips):
    seen = []
    report = extract_dataset_frames(
        ctx.workspace, clips, "stills", every=4, progress=lambda c, t=None, m="": seen.append((c, t))
    )
    assert report.created and report.frames == {"walk.mp4": 4, "wave.webm": 2}
    stills = datasets.open_dataset(ctx.workspace, "stills")
    assert stills.image_names() == [
        "walk-0001.png",
        "walk-0002.png",
        "walk-0003.png",
        "walk-0004.png",
        "wave-0001.png",
        "wave-0002.png",
    ]
    assert (stills.path / "walk-0003.txt").read_text() == "a person walking, outdoors"
    assert not (stills.path / "wave-0001.txt").exists()  # an uncaptioned clip gives uncaptioned frames
    # Frame 8 (the third kept of every 4th) is the first frame after the cut.
    after_cut = _pixels(io.BytesIO(clip_frame_png(clips.path / "walk.mp4", at_seconds=1.0)))
    assert np.abs(_pixels(stills.path / "walk-0003.png") - after_cut).mean() < 3
    assert seen[-1] == (3.0, 3.0) and all(t == 3.0 for _, t in seen)  # seconds of video: 2 s + 1 s
    assert [c for c, _ in seen] == sorted(c for c, _ in seen)
    assert not list(clips.state_dir.glob("frames-*"))  # the staging folder is gone


def test_scene_detection_keeps_the_first_frame_and_the_cut(ctx, clips):
    report = extract_dataset_frames(ctx.workspace, clips, "cuts", scene=0.3, clips=["walk.mp4"])
    assert report.frames == {"walk.mp4": 2}
    cuts = datasets.open_dataset(ctx.workspace, "cuts")
    first, cut = (_pixels(cuts.path / name) for name in cuts.image_names())
    assert np.abs(first - _pixels(io.BytesIO(clip_frame_png(clips.path / "walk.mp4")))).mean() < 3
    assert np.abs(cut - _pixels(io.BytesIO(clip_frame_png(clips.path / "walk.mp4", 1.0)))).mean() < 3


def test_frames_join_an_existing_dataset_without_overwriting(ctx, clips):
    stills = datasets.create_dataset(ctx.workspace, "stills")
    write_image(stills.path / "walk-0001.png", color=(1, 2, 3))
    report = extract_dataset_frames(ctx.workspace, clips, "stills", every=8, clips=["walk.mp4"])
    assert not report.created and sorted(report.imported) == ["walk-0001-1.png", "walk-0002.png"]
    assert Image.open(stills.path / "walk-0001.png").getpixel((0, 0)) == (1, 2, 3)


def test_bad_requests_are_refused_before_any_work(ctx, clips):
    with pytest.raises(LorapilotError, match="exactly one of --every N or --scene"):
        extract_dataset_frames(ctx.workspace, clips, "x", every=2, scene=0.3)
    with pytest.raises(LorapilotError, match="--every must be 1 or more"):
        extract_dataset_frames(ctx.workspace, clips, "x", every=0)
    with pytest.raises(LorapilotError, match="between 0 and 1"):
        extract_dataset_frames(ctx.workspace, clips, "x", scene=1.5)
    with pytest.raises(LorapilotError, match="another dataset than 'clips'"):
        extract_dataset_frames(ctx.workspace, clips, "clips", every=2)
    with pytest.raises(LorapilotError, match="has no clip 'nope.mp4'"):
        extract_dataset_frames(ctx.workspace, clips, "x", every=2, clips=["nope.mp4"])
    empty = datasets.create_dataset(ctx.workspace, "empty")
    with pytest.raises(LorapilotError, match="has no clips"):
        extract_dataset_frames(ctx.workspace, empty, "x", every=2)
    assert not (ctx.workspace.datasets / "x").exists()


def test_cancel_leaves_no_dataset_and_no_staging(ctx, clips):
    cancel = threading.Event()

    def progress(current, total=None, message=""):
        if current > 0:
            cancel.set()

    with pytest.raises(Cancelled):
        extract_dataset_frames(ctx.workspace, clips, "stills", every=1, progress=progress, cancel=cancel)
    assert not (ctx.workspace.datasets / "stills").exists()
    assert not list(clips.state_dir.glob("frames-*"))


def test_cli_frames_with_a_progress_bar(ctx, clips):
    runner = CliRunner()
    root = str(ctx.workspace.root)
    result = runner.invoke(cli, ["tagpilot", "frames", "clips", "--scene", "0.3", "--into", "cuts", "-w", root])
    assert result.exit_code == 0, result.output
    assert "walk.mp4: 2 frames" in result.output and "wave.webm: 1 frames" in result.output
    assert "3 frames created dataset 'cuts'" in result.output
    refused = runner.invoke(cli, ["tagpilot", "frames", "clips", "--into", "x", "-w", root])
    assert refused.exit_code != 0 and "exactly one of --every N or --scene" in str(refused.exception)
    assert "frames of clips" not in refused.output  # refused before any progress bar


def test_http_frames_task_reports_progress_and_result(ctx, clips):
    client = make_client(ctx)
    bad = client.post("/api/tagpilot/datasets/clips/frames", json={"into": "x", "every": 2, "scene": 0.3})
    assert bad.status_code == 400 and "exactly one" in bad.json()["detail"]
    bad = client.post("/api/tagpilot/datasets/clips/frames", json={"into": "../x", "every": 2})
    assert bad.status_code == 400 and "dataset name" in bad.json()["detail"]
    response = client.post("/api/tagpilot/datasets/clips/frames", json={"into": "stills", "every": 8})
    assert response.status_code == 202
    task = wait_task(client, response.json())
    assert task["state"] == "done", task
    assert task["kind"] == "tagpilot.frames" and task["current"] == task["total"] == 3.0
    assert task["result"]["frames"] == {"walk.mp4": 2, "wave.webm": 1}
    listing = client.get("/api/tagpilot/datasets/stills/images").json()
    assert [(r["name"], r["caption"], r["kind"]) for r in listing["images"]] == [
        ("walk-0001.png", "a person walking, outdoors", "image"),
        ("walk-0002.png", "a person walking, outdoors", "image"),
        ("wave-0001.png", "", "image"),
    ]


def test_clips_sharing_a_stem_keep_all_their_frames(ctx, clips):
    make_clip(clips.path / "walk.mov", scene_cut=False)
    report = extract_dataset_frames(ctx.workspace, clips, "stills", every=8, clips=["walk.mp4", "walk.mov"])
    assert report.frames == {"walk.mov": 1, "walk.mp4": 2} and report.errors == []
    stills = datasets.open_dataset(ctx.workspace, "stills")
    assert stills.image_names() == ["walk-0001-1.png", "walk-0001.png", "walk-0002.png"]
    # Both clips read the one walk.txt sidecar (imports never make such a pair; a hand-copied file can).
    assert sorted(p.name for p in stills.path.glob("*.txt")) == ["walk-0001-1.txt", "walk-0001.txt", "walk-0002.txt"]

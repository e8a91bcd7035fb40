"""Video clips in TagPilot: import (folder, upload), clip facts and thumbnails, captions, and Diffusion Pipe export.

Every clip is a real one made by ffmpeg in the test (lavfi testsrc then testsrc2: a scene cut).
"""

import io
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lorapilot.cli import cli
from lorapilot.kit.videofiles import ClipError, clip_frame_png, frame_buckets, probe_clip
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.edits import edit_caption
from lorapilot.tools.tagpilot.export import ExportOptions, export_dataset
from lorapilot.tools.tagpilot.importer import import_folder, import_upload
from lorapilot.tools.tagpilot.index import dataset_stats, scan
from lorapilot.tools.tagpilot.thumbs import thumbnail
from support.api import make_client
from support.clips import make_clip
from support.tagpilot import wait_task, write_image


@pytest.fixture
def client(ctx):
    return make_client(ctx)


def test_probe_reads_clip_facts_and_names_an_unreadable_file(tmp_path):
    info = probe_clip(make_clip(tmp_path / "walk.mp4", seconds=1, rate=8))
    assert (info.width, info.height, info.fps, info.frames, info.duration) == (64, 48, 8.0, 16, 2.0)
    webm = probe_clip(make_clip(tmp_path / "wave.webm", seconds=1, rate=8, scene_cut=False))
    assert (webm.frames, webm.duration) == (8, 1.0)  # no frame count in WebM headers: duration × rate
    (tmp_path / "broken.mov").write_bytes(b"not a movie at all")
    with pytest.raises(ClipError, match=r"^cannot read clip broken\.mov: ffprobe: .*Invalid data"):
        probe_clip(tmp_path / "broken.mov")


def test_import_folder_brings_clips_with_captions_facts_and_thumbnails(ctx, tmp_path):
    source = tmp_path / "src"
    make_clip(source / "walk.mp4")
    (source / "walk.txt").write_text("a person walking, outdoors")
    make_clip(source / "nested" / "wave.webm", scene_cut=False)
    make_clip(source / "turn.mov", size="48x64")
    (source / "broken.mov").write_bytes(b"junk")
    write_image(source / "still.png")
    ds = datasets.create_dataset(ctx.workspace, "moves")
    report = import_folder(ds, source)
    assert sorted(report.imported) == ["broken.mov", "still.png", "turn.mov", "walk.mp4", "wave.webm"]
    assert report.captions == 1
    assert report.warnings == [
        ("broken.mov", "cannot read clip broken.mov: ffprobe: Invalid data found when processing input")
    ]

    records = {r.name: r for r in scan(ds)}
    walk = records["walk.mp4"].to_dict()
    assert walk["kind"] == "clip" and walk["caption"] == "a person walking, outdoors"
    assert walk["clip"] == {"width": 64, "height": 48, "fps": 8.0, "frames": 16, "duration": 2.0}
    assert (records["turn.mov"].width, records["turn.mov"].height) == (48, 64)
    assert records["broken.mov"].clip is None and "broken.mov" in records["broken.mov"].error
    assert records["still.png"].to_dict()["kind"] == "image" and records["still.png"].clip is None
    stats = dataset_stats(ds)
    assert (stats["images"], stats["clips"], stats["undecodable"]) == (5, 4, 1)

    thumb = thumbnail(ctx.workspace.cache, ds.image_path("turn.mov"), 128)
    assert Image.open(thumb).size == (48, 64)  # kept at the clip's own size (under 128)
    with pytest.raises(ClipError, match="broken.mov"):
        thumbnail(ctx.workspace.cache, ds.image_path("broken.mov"), 128)

    # Captions of clips are edited like image captions; the captioners leave clips alone.
    version = records["turn.mov"].caption.version
    assert edit_caption(ds, "turn.mov", "a person turning", version).text == "a person turning"
    assert (ds.path / "turn.txt").read_text() == "a person turning"


def test_upload_refuses_a_clip_ffprobe_cannot_read_and_pairs_captions(ctx, tmp_path):
    ds = datasets.create_dataset(ctx.workspace, "up")
    clip = make_clip(tmp_path / "walk.mp4").read_bytes()
    assert import_upload(ds, "walk.txt", io.BytesIO(b"walking")).captions == 1
    assert import_upload(ds, "walk.mp4", io.BytesIO(clip)).imported == ["walk.mp4"]
    with pytest.raises(ClipError, match=r"cannot read clip fake\.webm: ffprobe"):
        import_upload(ds, "fake.webm", io.BytesIO(b"\x1a\x45\xdf\xa3 not really"))
    assert ds.image_names() == ["walk.mp4"]  # the unreadable upload was not kept
    assert not [p for p in ds.path.iterdir() if p.name.endswith(".upload")]
    with pytest.raises(Exception, match="larger than the upload limit"):
        import_upload(ds, "big.mp4", io.BytesIO(clip), max_bytes=100)


def test_http_upload_grid_thumbnail_and_caption_of_a_clip(client, ctx, tmp_path):
    client.post("/api/tagpilot/datasets", json={"name": "vids"})
    clip = make_clip(tmp_path / "walk.mp4").read_bytes()
    assert client.post("/api/tagpilot/datasets/vids/files/walk.mp4", content=clip).json()["imported"] == ["walk.mp4"]
    bad = client.post("/api/tagpilot/datasets/vids/files/bad.mov", content=b"junk")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("cannot read clip bad.mov: ffprobe")
    listing = client.get("/api/tagpilot/datasets/vids/images").json()
    (record,) = listing["images"]
    assert record["kind"] == "clip" and record["clip"]["frames"] == 16 and record["clip"]["fps"] == 8.0
    thumb = client.get("/api/tagpilot/datasets/vids/images/walk.mp4/thumb", params={"size": 128})
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).size == (64, 48)
    assert client.get("/api/tagpilot/datasets/vids/images/walk.mp4/file").content == clip
    put = client.put("/api/tagpilot/datasets/vids/images/walk.mp4/caption", json={"text": "walking", "version": ""})
    assert put.status_code == 200 and put.json()["text"] == "walking"
    assert client.get("/api/tagpilot/datasets/vids").json()["clips"] == 1
    # Clip facts can be queried like image sizes.
    assert client.get("/api/tagpilot/datasets/vids/images", params={"q": "width>=64"}).json()["matched"] == 1


def test_export_writes_clips_with_captions_in_diffusion_pipe_layout(ctx, tmp_path):
    ds = datasets.create_dataset(ctx.workspace, "mixed")
    make_clip(ds.path / "walk.mp4")  # 2 s: 32 frames at Wan's 16 fps → the 25-frame bucket
    (ds.path / "walk.txt").write_text("ohwx, walking")
    make_clip(ds.path / "blink.webm", seconds=0.5, scene_cut=False)  # 0.5 s: 8 frames, too short for a bucket
    write_image(ds.path / "still.png")
    (ds.path / "still.txt").write_text("ohwx, standing")
    result = export_dataset(ctx.workspace, ds, ExportOptions(repeats=2, resolution=512))
    config = tomllib.loads(Path(result.files["diffusion_pipe_dataset_toml"]).read_text())
    assert config["frame_buckets"] == [1, 25] == frame_buckets([2.0, 0.5], 16)
    (directory,) = config["directory"]
    folder = Path(directory["path"])
    # Diffusion Pipe's layout: each media file beside its same-stem .txt caption in the directory.
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "blink.webm",
        "still.png",
        "still.txt",
        "walk.mp4",
        "walk.txt",
    ]
    assert (folder / "walk.txt").read_text() == "ohwx, walking"
    kohya = Path(result.files["kohya_image_dir"])
    assert sorted(p.name for p in kohya.iterdir()) == ["still.png", "still.txt"]  # sd-scripts reads stills only
    assert any("2 video clip(s)" in w and "Diffusion Pipe" in w for w in result.warnings)


def test_cli_import_lists_clips_with_their_facts(ctx, tmp_path):
    source = tmp_path / "src"
    make_clip(source / "walk.mp4")
    (source / "walk.txt").write_text("walking")
    write_image(source / "still.png")
    runner = CliRunner()
    root = str(ctx.workspace.root)
    imported = runner.invoke(cli, ["tagpilot", "import", "vids", str(source), "--create", "-w", root])
    assert imported.exit_code == 0, imported.output
    assert "imported 1 images, 1 clips, 1 captions" in imported.output
    listed = runner.invoke(cli, ["tagpilot", "images", "vids", "-w", root]).output.splitlines()
    assert listed == ["still.png\t64x64\t", "walk.mp4\tclip 2.0 s · 16 frames · 8 fps · 64×48\twalking"]


def test_http_zip_import_brings_clips_and_names_an_unreadable_one(client, ctx, tmp_path):
    client.post("/api/tagpilot/datasets", json={"name": "zipped"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(make_clip(tmp_path / "walk.mp4"), "clips/walk.mp4")
        archive.writestr("clips/walk.txt", "walking")
        archive.writestr("clips/broken.webm", b"junk")
    response = client.post("/api/tagpilot/datasets/zipped/import/zip", content=buffer.getvalue())
    assert response.status_code == 202
    task = wait_task(client, response.json())
    assert task["state"] == "done", task
    assert sorted(task["result"]["imported"]) == ["broken.webm", "walk.mp4"] and task["result"]["captions"] == 1
    assert task["result"]["warnings"] == [
        {
            "file": "broken.webm",
            "reason": "cannot read clip broken.webm: ffprobe: Invalid data found when processing input",
        }
    ]
    records = {r["name"]: r for r in client.get("/api/tagpilot/datasets/zipped/images").json()["images"]}
    assert records["walk.mp4"]["caption"] == "walking" and records["walk.mp4"]["clip"]["duration"] == 2.0
    assert records["broken.webm"]["clip"] is None and "broken.webm" in records["broken.webm"]["error"]


def test_a_clip_thumbnail_is_its_frame_at_one_second_or_the_first_of_a_shorter_clip(ctx, tmp_path):
    def pixels(data) -> np.ndarray:
        return np.asarray(Image.open(data).convert("RGB"), dtype=np.int16)

    long_clip = make_clip(tmp_path / "walk.mp4")  # testsrc for 1 s, then testsrc2
    short_clip = make_clip(tmp_path / "blink.mp4", seconds=0.5, scene_cut=False)
    thumb = pixels(thumbnail(ctx.workspace.cache, long_clip, 128))
    at_one = pixels(io.BytesIO(clip_frame_png(long_clip, 1.0)))
    first = pixels(io.BytesIO(clip_frame_png(long_clip)))
    # Past the cut (testsrc2), not the first frame (testsrc); JPEG blurs a 64×48 test pattern a little.
    assert np.abs(thumb - at_one).mean() * 3 < np.abs(thumb - first).mean()
    short_thumb = pixels(thumbnail(ctx.workspace.cache, short_clip, 128))  # no frame at 1 s: the first one
    assert np.abs(short_thumb - pixels(io.BytesIO(clip_frame_png(short_clip)))).mean() < 20


def test_without_ffmpeg_clips_list_with_the_reason_and_are_read_once_it_is_installed(ctx, tmp_path, monkeypatch):
    ds = datasets.create_dataset(ctx.workspace, "vids")
    make_clip(ds.path / "walk.mp4")
    write_image(ds.path / "still.png")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    records = {r.name: r for r in scan(ds)}
    assert records["walk.mp4"].error == (
        "cannot read clip walk.mp4: ffprobe not found on PATH: install ffmpeg (Debian: apt-get install ffmpeg)"
    )
    assert records["still.png"].width == 64  # images still list
    monkeypatch.undo()
    assert scan(ds)[1].clip is not None and scan(ds)[1].clip.frames == 16  # the missing tool was not cached

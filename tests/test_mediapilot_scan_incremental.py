"""Incremental scans: only changed files are re-read; overwrites, removals, renames and extra roots."""

from __future__ import annotations

import os
import time

from lorapilot.tools.mediapilot import organise, scan
from support import media_files as mf
from support.media_lib import make_library, row_by_name

PARAMS = "a {}\nSteps: {}, Sampler: Euler, CFG scale: 7, Seed: {}, Size: 64x48, Model: m1"


def _reads(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = scan.read_file

    def counting(root, rel, st):
        seen.append(rel)
        return original(root, rel, st)

    monkeypatch.setattr(scan, "read_file", counting)
    return seen


def test_rescan_reads_only_what_changed(tmp_path, monkeypatch):
    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    for i in range(5):
        mf.png(out / "comfy" / f"{i}.png", texts={"parameters": PARAMS.format("cat", 20, i)})
    mf.jpeg(out / "invoke" / "j.jpg", mf.user_comment(PARAMS.format("dog", 30, 9), "unicode-be"))
    first = lib.scan()
    assert (first.added, first.updated, first.removed, first.flagged) == (6, 0, 0, 0)
    assert lib.index.path == ctx.workspace.root / "apps" / "mediapilot" / "index.db"
    assert lib.index.read().execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # readers never block the scan

    reads = _reads(monkeypatch)
    again = lib.scan()
    assert reads == []
    assert (again.unchanged, again.added, again.updated) == (6, 0, 0)

    # Overwrite in place, keeping the size and even the folder's mtime: still caught.
    target = out / "comfy" / "2.png"
    folder_mtime = os.stat(target.parent).st_mtime_ns
    mf.png(tmp_path / "new.png", texts={"parameters": PARAMS.format("cow", 21, 2)})
    data = (tmp_path / "new.png").read_bytes()
    assert len(data) == target.stat().st_size
    with open(target, "r+b") as fh:  # same inode, same size, new content
        fh.write(data)
    os.utime(target.parent, ns=(folder_mtime, folder_mtime))
    (out / "comfy" / "4.png").unlink()
    mf.png(out / "comfy" / "new.png", texts={"parameters": PARAMS.format("owl", 5, 77)})
    third = lib.scan()
    assert sorted(reads) == ["comfy/2.png", "comfy/new.png"]
    assert (third.updated, third.added, third.removed, third.unchanged) == (1, 1, 1, 4)
    row = row_by_name(lib, "2.png")
    assert (row["positive"], row["steps"]) == ("a cow", 21)
    names = {r[0] for r in lib.index.read().execute("SELECT name FROM media")}
    assert names == {"0.png", "1.png", "2.png", "3.png", "new.png", "j.jpg"}


def test_overwrite_keeps_favourite_and_tags(tmp_path):
    ctx, lib = make_library(tmp_path)
    path = mf.png(ctx.workspace.outputs / "a.png", texts={"parameters": PARAMS.format("cat", 20, 1)})
    lib.scan()
    media_id = row_by_name(lib, "a.png")["id"]
    organise.set_favourite(lib, [media_id])
    organise.tag(lib, [media_id], add=["keeper"])
    time.sleep(0.01)
    mf.png(path, texts={"parameters": PARAMS.format("cat in a hat", 25, 1)})
    assert lib.scan().updated == 1
    row = row_by_name(lib, "a.png")
    assert (row["id"], row["fav"], row["positive"], row["steps"]) == (media_id, 1, "a cat in a hat", 25)
    assert lib.detail(media_id)["tags"] == ["keeper"]


def test_rename_outside_mediapilot_keeps_the_row(tmp_path, monkeypatch):
    ctx, lib = make_library(tmp_path)
    path = mf.png(ctx.workspace.outputs / "old" / "a.png", texts={"parameters": PARAMS.format("cat", 20, 1)})
    lib.scan()
    media_id = row_by_name(lib, "a.png")["id"]
    organise.tag(lib, [media_id], add=["best"])
    (ctx.workspace.outputs / "new").mkdir()
    path.rename(ctx.workspace.outputs / "new" / "b.png")
    reads = _reads(monkeypatch)
    report = lib.scan()
    assert (report.moved, report.added, report.removed) == (1, 0, 0)
    assert reads == []
    row = row_by_name(lib, "b.png")
    assert (row["id"], row["rel"]) == (media_id, "new/b.png")
    assert lib.detail(media_id)["tags"] == ["best"]


def test_extra_roots_and_a_missing_root(tmp_path):
    extra = tmp_path / "renders"
    mf.png(extra / "r.png", texts={"parameters": PARAMS.format("ship", 12, 3)})
    ctx, lib = make_library(tmp_path, media={"extra_roots": [str(extra)]})
    mf.png(ctx.workspace.outputs / "o.png")
    report = lib.scan()
    assert report.added == 2
    assert [r.label for r in lib.roots()] == ["outputs", str(extra)]
    assert lib.detail(row_by_name(lib, "r.png")["id"])["root"] == str(extra)
    # An unmounted root keeps its entries (and favourites) instead of dropping them.
    extra.rename(tmp_path / "elsewhere")
    report = lib.scan()
    assert report.removed == 0
    assert any("is missing" in e for e in report.errors)
    row_by_name(lib, "r.png")


def test_hidden_folders_symlinks_and_other_files_are_skipped(tmp_path):
    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    mf.png(out / ".cache" / "hidden.png")
    mf.png(out / "real.png")
    (out / "link.png").symlink_to(out / "real.png")
    (out / "notes.txt").write_text("hi")
    (out / "loop").symlink_to(out, target_is_directory=True)
    assert lib.scan().added == 1
    assert [r[0] for r in lib.index.read().execute("SELECT rel FROM media")] == ["real.png"]


def test_invokeai_thumbnails_are_not_indexed(tmp_path):
    """InvokeAI writes ``images/NAME.png`` and a WebP copy in ``images/thumbnails/``: one item, not two."""
    import json

    ctx, lib = make_library(tmp_path)
    images = ctx.workspace.outputs / "invoke" / "images"  # [invokeai] outputs_dir is outputs/invoke
    meta = {"positive_prompt": "a fox", "seed": 5, "steps": 30, "model": {"name": "sdxl"}}
    mf.png(images / "0f3a.png", texts={"invokeai_metadata": json.dumps(meta)})
    mf.webp(images / "thumbnails" / "0f3a.webp")
    mf.png(ctx.workspace.outputs / "mine" / "thumbnails" / "kept.png")  # a folder of the user's own: kept
    assert lib.scan().added == 2
    assert sorted(r[0] for r in lib.index.read().execute("SELECT rel FROM media")) == [
        "invoke/images/0f3a.png",
        "mine/thumbnails/kept.png",
    ]
    # The watcher's path too, for the file and for the folder.
    report = lib.reindex([str(images / "thumbnails" / "0f3a.webp"), str(images / "thumbnails")])
    assert (report.added, lib.index.count()) == (0, 2)

    extra = tmp_path / "invoke-elsewhere" / "images"  # InvokeAI's own images folder added as an extra root
    mf.webp(extra / "thumbnails" / "b.webp")
    mf.png(extra / "b.png")
    from lorapilot.tools.mediapilot.roots import add_root

    add_root(lib, str(extra))  # the library follows config/lorapilot.toml, not an in-memory edit
    assert lib.scan().added == 1
    assert lib.reindex([str(extra / "thumbnails" / "b.webp")]).added == 0


def test_file_vanishing_mid_scan(tmp_path, monkeypatch):
    ctx, lib = make_library(tmp_path)
    for name in ("a.png", "b.png", "c.png"):
        mf.png(ctx.workspace.outputs / name)
    original = scan.read_file

    def vanishing(root, rel, st):
        if rel == "b.png":
            os.unlink(root.path / rel)
        return original(root, rel, st)

    monkeypatch.setattr(scan, "read_file", vanishing)
    report = lib.scan()
    assert (report.added, report.vanished) == (2, 1)
    assert sorted(r[0] for r in lib.index.read().execute("SELECT name FROM media")) == ["a.png", "c.png"]


def test_reindex_paths(tmp_path):
    ctx, lib = make_library(tmp_path)
    path = mf.png(ctx.workspace.outputs / "w.png", texts={"parameters": PARAMS.format("x", 3, 3)})
    assert lib.reindex([str(path)]).added == 1
    assert lib.reindex([str(path)]).unchanged == 1
    path.unlink()
    assert lib.reindex([str(path)]).removed == 1
    assert lib.index.count() == 0


def test_a_path_indexed_meanwhile_by_another_writer(tmp_path):
    """The watcher (or a CLI scan) may index a file between a scan's listing and its write."""
    ctx, lib = make_library(tmp_path)
    path = mf.png(ctx.workspace.outputs / "race.png", texts={"parameters": PARAMS.format("cat", 20, 1)})
    root = lib.roots()[0]
    st = os.stat(path)
    first = scan.read_file(root, "race.png", st)
    lib.index.write([first], [], [])
    again = scan.read_file(root, "race.png", st)
    lib.index.write([again], [], [])  # would break the unique path index if inserted blindly
    assert lib.index.count() == 1
    assert len(lib.raw_chunks(row_by_name(lib, "race.png")["id"])) == 1


def test_indexing_never_decodes_pixels(tmp_path, monkeypatch):
    """Sizes come from the headers: Pillow is never asked to open a file, ffmpeg never runs."""
    import subprocess

    from PIL import Image

    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    mf.png(out / "a.png", size=(70, 30), texts={"parameters": PARAMS.format("cat", 20, 1)})
    mf.jpeg(out / "b.jpg", mf.user_comment(PARAMS.format("dog", 30, 2), "unicode-be"))
    mf.webp(out / "c.webp", mf.user_comment(PARAMS.format("owl", 5, 3), "ascii"), size=(33, 21))
    mf.video(out / "d.webm")

    def refuse(*args, **kwargs):
        raise AssertionError("the indexer decoded pixels")

    monkeypatch.setattr(Image, "open", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    report = lib.scan()
    assert (report.added, report.flagged) == (4, 0)
    sizes = {r["name"]: (r["width"], r["height"]) for r in lib.index.read().execute("SELECT * FROM media")}
    assert sizes == {"a.png": (70, 30), "b.jpg": (64, 48), "c.webp": (33, 21), "d.webm": (64, 48)}

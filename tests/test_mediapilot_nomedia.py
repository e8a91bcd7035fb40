"""A folder holding a ``.nomedia`` file (Android's convention) is not media: scans and the watcher leave
it out, and rows indexed before the marker appeared leave the index. TagPilot marks its export folder so
(its kohya copy of a dataset is training input, not something generated)."""

from __future__ import annotations

import time

import pytest

from lorapilot.tools.mediapilot.watch import Watcher
from lorapilot.tools.tagpilot.dataset import create_dataset
from lorapilot.tools.tagpilot.export import ExportOptions, export_dataset
from support import media_files as mf
from support.media_lib import make_library


def names(lib) -> set[str]:
    return {r[0] for r in lib.index.read().execute("SELECT rel FROM media WHERE trash_id IS NULL")}


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the watcher did not catch up in time")


def test_scan_skips_marked_folders_and_drops_rows_once_marked(tmp_path):
    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    mf.png(out / "comfy" / "a.png")
    mf.png(out / "export" / "b.png")
    mf.png(out / "export" / "deep" / "c.png")
    mf.png(out / "later" / "d.png")
    (out / "export" / ".nomedia").touch()

    lib.scan()
    assert names(lib) == {"comfy/a.png", "later/d.png"}

    (out / "later" / ".nomedia").touch()
    report = lib.scan()
    assert names(lib) == {"comfy/a.png"} and report.removed == 1

    (out / "later" / ".nomedia").unlink()
    lib.scan()
    assert names(lib) == {"comfy/a.png", "later/d.png"}


@pytest.mark.timeout(60)
def test_watcher_ignores_marked_folders_and_forgets_a_folder_when_it_is_marked(tmp_path):
    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    (out / "quiet").mkdir(parents=True)
    (out / "quiet" / ".nomedia").touch()
    watcher = Watcher(lib).start()
    try:
        wait_for(lambda: lib.index.read().execute("SELECT count(*) FROM roots").fetchone()[0] > 0)
        time.sleep(0.3)  # let the file-system watch settle
        mf.png(out / "quiet" / "sub" / "x.png")
        mf.png(out / "loud" / "y.png")
        wait_for(lambda: "loud/y.png" in names(lib))
        time.sleep(1.0)  # the batch with x.png has been handled as well
        assert names(lib) == {"loud/y.png"}

        (out / "loud" / ".nomedia").touch()
        wait_for(lambda: names(lib) == set())
    finally:
        watcher.stop()


def test_tagpilot_export_is_not_in_the_gallery(tmp_path):
    ctx, lib = make_library(tmp_path)
    ds = create_dataset(ctx.workspace, "cats")
    mf.png(ds.path / "cat1.png")
    (ds.path / "cat1.txt").write_text("ohwx, cat")
    mf.png(ctx.workspace.outputs / "comfy" / "render.png")

    result = export_dataset(ctx.workspace, ds, ExportOptions(trigger_word="ohwx"))
    assert (result.root / "kohya" / "img" / "10_ohwx" / "cat1.png").is_file()
    lib.scan()
    assert names(lib) == {"comfy/render.png"}

"""The watcher keeps the index fresh: a new file, an in-place overwrite and a delete all show up."""

from __future__ import annotations

import time

import pytest

from lorapilot.tools.mediapilot.watch import Watcher
from support import media_files as mf
from support.media_lib import make_library

PARAMS = "a {}\nSteps: {}, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x48, Model: m"


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the watcher did not catch up in time")


@pytest.mark.timeout(60)
def test_watcher_write_overwrite_delete(tmp_path):
    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    mf.png(out / "before.png")  # exists before the watcher starts: picked up by its first scan
    batches = []
    watcher = Watcher(lib, on_batch=batches.append).start()
    try:
        conn = lib.index.reader()

        def row(name):
            return conn.execute("SELECT * FROM media WHERE name = ?", (name,)).fetchone()

        wait_for(lambda: row("before.png"))
        time.sleep(0.3)  # let the file-system watch settle before the first event

        path = mf.png(out / "comfy" / "new" / "w.png", texts={"parameters": PARAMS.format("cat", 20)})
        first = wait_for(lambda: row("w.png"))
        assert (first["positive"], first["steps"]) == ("a cat", 20)

        # Overwrite in place (same inode), as a generator re-saving the same name does.
        mf.png(tmp_path / "next.png", texts={"parameters": PARAMS.format("dog", 31)})
        with open(path, "r+b") as fh:
            fh.write((tmp_path / "next.png").read_bytes())
            fh.truncate()
        second = wait_for(lambda: (r := row("w.png")) is not None and r["steps"] == 31 and r)
        assert second["id"] == first["id"] and second["positive"] == "a dog"

        path.unlink()
        wait_for(lambda: row("w.png") is None)

        # A folder moved in whole (its files never raise events of their own), then moved out.
        batch = tmp_path / "batch"
        mf.png(batch / "b1.png")
        mf.png(batch / "deep" / "b2.png")
        batch.rename(out / "batch")
        wait_for(lambda: row("b1.png") and row("b2.png"))
        (out / "batch").rename(tmp_path / "gone")
        wait_for(lambda: row("b1.png") is None and row("b2.png") is None)
        assert row("before.png") is not None
        assert any(b.added for b in batches) and any(b.removed for b in batches)
        assert watcher.error is None
    finally:
        watcher.stop()
        lib.close()
    assert not watcher.thread.is_alive()


@pytest.mark.timeout(60)
def test_a_root_that_appears_later_is_scanned_and_watched(tmp_path):
    """A network volume mounted (or an extra root created) after ControlPilot started."""
    renders = tmp_path / "volume" / "renders"
    ctx, lib = make_library(tmp_path, media={"extra_roots": [str(renders)]})
    mf.png(ctx.workspace.outputs / "here.png")
    watcher = Watcher(lib, roots_check_s=0.5).start()
    try:
        conn = lib.index.reader()

        def rels():
            return {r[0] for r in conn.execute("SELECT rel FROM media")}

        wait_for(lambda: rels() == {"here.png"})
        mf.png(tmp_path / "staging" / "early.png")
        (tmp_path / "staging").rename(renders.parent.mkdir(parents=True) or renders)  # appears with a file in it
        wait_for(lambda: "early.png" in rels())
        time.sleep(0.3)  # the new watch settles
        mf.png(renders / "later.png", texts={"parameters": PARAMS.format("owl", 9)})
        wait_for(lambda: "later.png" in rels())
        mf.png(ctx.workspace.outputs / "still.png")  # outputs/ is still watched
        wait_for(lambda: "still.png" in rels())
        assert watcher.error is None
    finally:
        watcher.stop()
        lib.close()
    assert not watcher.thread.is_alive()

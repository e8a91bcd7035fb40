"""Bulk operations preview as diffs, apply as one history entry, and undo/redo across restarts."""

import subprocess
import sys
import threading

import pytest

from lorapilot.kit.errors import ConflictError, LorapilotError
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.edit_history import Change, EditHistory
from lorapilot.tools.tagpilot.edits import (
    StaleCaptionError,
    apply_op,
    edit_caption,
    history_state,
    preview_op,
    redo,
    undo,
)
from lorapilot.tools.tagpilot.tags import make_op
from support.tagpilot import make_dataset_files


@pytest.fixture
def ds(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ds = datasets.create_dataset(ws, "set")
    make_dataset_files(ds.path, {"a.png": "cat, solo", "b.png": "dog, solo", "c.png": None})
    (ds.path / "d.png").write_bytes((ds.path / "a.png").read_bytes())
    (ds.path / "d.txt").write_bytes(b"caf\xe9, solo")  # not UTF-8
    return ds


def captions(ds):
    return {p.name: p.read_bytes() for p in sorted(ds.path.glob("*.txt"))}


def test_preview_lists_exactly_the_changing_files_and_writes_nothing(ds):
    before = captions(ds)
    preview = preview_op(ds, make_op("add", tag="trig", position=0), query="-tag:dog")
    assert preview.selected == 3
    assert [d.image for d in preview.diffs] == ["a.png", "c.png", "d.png"]
    first = preview.diffs[0]
    assert (first.before, first.after, first.added, first.removed) == ("cat, solo", "trig, cat, solo", ["trig"], [])
    assert "-cat, solo\n+trig, cat, solo" in first.unified()
    assert preview.diffs[1].version == ""  # c.png had no caption
    assert captions(ds) == before


def test_apply_undo_redo_restore_exact_bytes_including_missing_and_non_utf8(ds):
    original = captions(ds)
    entry = apply_op(ds, make_op("add", tag="trig", position=0))
    assert entry.files == 4 and entry.state == "applied"
    assert (ds.path / "c.txt").read_text() == "trig"
    assert (ds.path / "a.txt").read_text() == "trig, cat, solo"
    undone = undo(ds)
    assert undone.state == "undone"
    assert captions(ds) == original  # c.txt gone again, d.txt's latin-1 byte back
    redo(ds)
    assert (ds.path / "b.txt").read_text() == "trig, dog, solo"
    with pytest.raises(LorapilotError, match="nothing to redo"):
        redo(ds)


def test_undo_and_redo_work_across_processes(ds, tmp_path):
    apply_op(ds, make_op("replace", tag="solo", new="alone"))
    assert (ds.path / "a.txt").read_text() == "cat, alone"
    ws_root = ds.path.parent.parent
    cmd = [sys.executable, "-m", "lorapilot", "dataset", "undo", "set", "--workspace", str(ws_root)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "undid #1: replace tag 'solo' with 'alone' (3 files)" in result.stdout
    assert (ds.path / "a.txt").read_text() == "cat, solo"
    state = history_state(ds)
    assert state["can_redo"] and not state["can_undo"]
    redo(ds)
    assert (ds.path / "b.txt").read_text() == "dog, alone"


def test_a_new_operation_drops_the_redo_stack(ds):
    apply_op(ds, make_op("add", tag="x"))
    undo(ds)
    apply_op(ds, make_op("add", tag="y"))
    state = history_state(ds)
    assert [e["description"] for e in state["entries"]] == ["add tag 'y' (first)"]
    assert not state["can_redo"]


def test_undo_refuses_when_a_file_changed_since(ds):
    apply_op(ds, make_op("add", tag="trig"))
    (ds.path / "a.txt").write_text("edited by hand")
    with pytest.raises(ConflictError, match="cannot undo .* changed since: a.txt"):
        undo(ds)
    assert (ds.path / "a.txt").read_text() == "edited by hand"
    assert (ds.path / "b.txt").read_text() == "trig, dog, solo"  # nothing half-undone


def test_apply_with_expected_versions_refuses_a_stale_preview(ds):
    op = make_op("add", tag="trig")
    preview = preview_op(ds, op)
    expected = {d.image: d.version for d in preview.diffs}
    (ds.path / "b.txt").write_text("dog, solo, changed meanwhile")
    with pytest.raises(ConflictError, match="changed since the preview"):
        apply_op(ds, op, expected=expected)
    assert (ds.path / "a.txt").read_text() == "cat, solo"


def test_expected_versions_limit_apply_to_the_previewed_files(ds):
    op = make_op("add", tag="trig")
    preview = preview_op(ds, op, query="tag:cat")
    entry = apply_op(ds, op, expected={d.image: d.version for d in preview.diffs})
    assert entry.files == 1
    assert (ds.path / "b.txt").read_text() == "dog, solo"


def test_stale_single_edit_is_refused_with_the_current_text(ds):
    v1 = edit_caption(ds, "a.png", "cat, solo, smiling", base_version=_version(ds, "a.png"))
    with pytest.raises(StaleCaptionError) as info:
        edit_caption(ds, "a.png", "cat, other edit", base_version=_version_of(b"cat, solo"))
    assert info.value.current.text == "cat, solo, smiling"
    assert info.value.current.version == v1.version
    assert (ds.path / "a.txt").read_text() == "cat, solo, smiling"
    undo(ds)
    assert (ds.path / "a.txt").read_text() == "cat, solo"


def _version(ds, image):
    from lorapilot.tools.tagpilot.captions import read_caption

    return read_caption(ds.caption_path(image)).version


def _version_of(raw: bytes) -> str:
    from lorapilot.tools.tagpilot.captions import caption_version

    return caption_version(raw)


def test_concurrent_edits_never_lose_a_write(ds):
    """Eight threads each append a tag based on the version they read; losers retry on 409."""
    from lorapilot.tools.tagpilot.captions import read_caption

    def worker(tag):
        while True:
            current = read_caption(ds.caption_path("a.png"))
            try:
                edit_caption(ds, "a.png", f"{current.text}, {tag}", current.version)
                return
            except StaleCaptionError:
                continue

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    tags = (ds.path / "a.txt").read_text().split(", ")
    assert sorted(tags) == sorted(["cat", "solo"] + [f"t{i}" for i in range(8)])


def test_an_interrupted_apply_is_rolled_forward_on_next_open(ds):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    with EditHistory(ds) as history:
        entry_id = history.begin(
            "add tag 'x'",
            "bulk",
            None,
            [
                Change("a.png", b"cat, solo", b"x, cat, solo"),
                Change("b.png", b"dog, solo", b"x, dog, solo"),
            ],
        )
        history.conn.execute("UPDATE entries SET owner_pid = ? WHERE id = ?", (dead_pid, entry_id))
    (ds.path / "a.txt").write_bytes(b"x, cat, solo")  # the crash happened after the first file
    state = history_state(ds)  # opening the history repairs it
    assert state["entries"][0]["state"] == "applied"
    assert (ds.path / "b.txt").read_bytes() == b"x, dog, solo"
    undo(ds)
    assert (ds.path / "a.txt").read_bytes() == b"cat, solo"


_APPENDER = """
import sys
from pathlib import Path
from lorapilot.tools.tagpilot.captions import read_caption
from lorapilot.tools.tagpilot.dataset import Dataset
from lorapilot.tools.tagpilot.edits import StaleCaptionError, edit_caption

ds = Dataset(name="set", path=Path(sys.argv[1]))
for i in range(10):
    while True:
        current = read_caption(ds.caption_path("a.png"))
        try:
            edit_caption(ds, "a.png", current.text + ", " + sys.argv[2] + str(i), current.version)
            break
        except StaleCaptionError:
            continue
"""


def test_concurrent_processes_never_lose_a_write(ds):
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, str(ds.path), tag]) for tag in ("p", "q")]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    tags = (ds.path / "a.txt").read_text().split(", ")
    assert sorted(tags) == sorted(["cat", "solo"] + [f"p{i}" for i in range(10)] + [f"q{i}" for i in range(10)])
    assert len(history_state(ds, limit=100)["entries"]) == 20

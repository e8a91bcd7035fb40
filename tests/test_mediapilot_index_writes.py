"""Batched index writes: the full-text index stays exactly in step with the rows through adds, overwrites,
removals and an upgrade from an index whose rows reached FTS5 through a trigger."""

from __future__ import annotations

import os

from lorapilot.tools.mediapilot.query import search
from support import media_files as mf
from support.media_lib import make_library

PARAMS = "{}\nNegative prompt: {}\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x48, Model: m1"


def _fts_in_step(lib) -> None:
    """FTS5's own check of an external-content index against its content table (raises when out of step)."""
    with lib.index.write_lock:
        lib.index.conn.execute("INSERT INTO media_fts (media_fts, rank) VALUES ('integrity-check', 1)")
    rows = lib.index.read().execute("SELECT count(*) FROM media").fetchone()[0]
    docs = lib.index.read().execute("SELECT count(*) FROM media_fts_docsize").fetchone()[0]
    assert docs == rows


def _names(lib, query: str) -> list[str]:
    return sorted(item["name"] for item in search(lib.index.read(), query, limit=500).rows)


def _total(lib, query: str) -> int:
    return search(lib.index.read(), query, limit=1, with_total=True).total


def test_full_text_follows_adds_overwrites_and_removals(tmp_path):
    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    for i in range(600):  # more than one write batch
        word = "castle" if i % 3 == 0 else "forest"
        mf.png(out / f"b{i // 100}" / f"{i:04d}.png", texts={"parameters": PARAMS.format(f"{word} n{i}", "blurry")})
    assert lib.scan().added == 600
    _fts_in_step(lib)
    assert _total(lib, "castle") == 200
    assert _names(lib, "n42") == ["0042.png"]
    assert _total(lib, "neg:blurry") == 600

    mf.png(out / "b0" / "0042.png", texts={"parameters": PARAMS.format("dragon n42", "grainy")})  # in place
    os.remove(out / "b0" / "0003.png")
    mf.png(out / "new.png", texts={"parameters": PARAMS.format("lighthouse", "blurry")})
    report = lib.scan()
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    _fts_in_step(lib)
    assert _names(lib, "n42") == ["0042.png"]
    assert _names(lib, "dragon") == ["0042.png"]
    assert _names(lib, "neg:grainy") == ["0042.png"]
    assert _names(lib, "n3") == []
    assert _names(lib, "lighthouse") == ["new.png"]
    lib.close()


def test_upgrade_from_the_insert_trigger_does_not_index_twice(tmp_path):
    """An index made before the trigger was dropped: after the upgrade each new row reaches FTS5 once."""
    from lorapilot.tools.mediapilot.library import MediaLibrary

    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    mf.png(out / "old.png", texts={"parameters": PARAMS.format("castle", "blurry")})
    lib.scan()
    with lib.index.write_lock:  # as the previous version left it
        lib.index.conn.execute(
            "CREATE TRIGGER media_fts_insert AFTER INSERT ON media BEGIN "
            "INSERT INTO media_fts(rowid, positive, negative) VALUES (new.id, new.positive, new.negative); END"
        )
        lib.index.conn.execute("PRAGMA user_version = 2")
    lib.close()

    lib = MediaLibrary.open(ctx)
    assert (
        lib.index.conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'media_fts_insert'"
        ).fetchone()[0]
        == 0
    )
    mf.png(out / "new.png", texts={"parameters": PARAMS.format("castle tower", "blurry")})
    assert lib.scan().added == 1
    _fts_in_step(lib)
    assert _names(lib, "castle") == ["new.png", "old.png"]
    assert _names(lib, "tower") == ["new.png"]
    lib.close()


def test_a_cancelled_first_index_keeps_whole_batches_and_the_next_scan_finishes(tmp_path, monkeypatch):
    """Each batch is one transaction: a scan stopped part-way leaves complete, searchable rows behind."""
    import threading

    import pytest

    from lorapilot.kit.progress import Cancelled
    from lorapilot.tools.mediapilot import scan

    monkeypatch.setattr(scan, "BATCH", 10)
    ctx, lib = make_library(tmp_path)
    for i in range(35):
        mf.png(ctx.workspace.outputs / f"{i:03d}.png", texts={"parameters": PARAMS.format(f"castle n{i}", "blurry")})
    cancel = threading.Event()

    def progress(done, total, text):
        if done >= 20:
            cancel.set()

    with pytest.raises(Cancelled):
        lib.scan(progress=progress, cancel=cancel)
    assert lib.index.count() == 20
    _fts_in_step(lib)
    assert _total(lib, "castle") == 20
    report = lib.scan()
    assert (report.added, report.unchanged) == (15, 20)
    _fts_in_step(lib)
    assert _total(lib, "castle") == 35
    lib.close()


def test_a_failed_write_stops_the_scan_and_rolls_back_only_its_batch(tmp_path, monkeypatch):
    """A write that fails inside its transaction leaves no half batch: rows, raw chunks and FTS5 agree."""
    import sqlite3

    import pytest

    from lorapilot.tools.mediapilot import scan
    from lorapilot.tools.mediapilot.index import FileRow

    monkeypatch.setattr(scan, "BATCH", 10)
    ctx, lib = make_library(tmp_path)
    for i in range(25):
        mf.png(ctx.workspace.outputs / f"{i:03d}.png", texts={"parameters": PARAMS.format(f"castle n{i}", "blurry")})
    original, reads = scan.read_file, []

    def poisoned_fifteenth(root, rel, st):
        row = original(root, rel, st)
        reads.append(rel)
        if len(reads) == 15:  # in the second batch: SQLite cannot bind an object
            row = FileRow((*row.values[:-1], object()), row.raw, row.loras)
        return row

    monkeypatch.setattr(scan, "read_file", poisoned_fifteenth)
    with pytest.raises(sqlite3.Error):
        lib.scan()
    assert lib.index.count() == 10
    assert lib.index.read().execute("SELECT count(DISTINCT media_id) FROM media_raw").fetchone()[0] == 10
    _fts_in_step(lib)
    monkeypatch.setattr(scan, "read_file", original)
    assert lib.scan().added == 15
    _fts_in_step(lib)
    lib.close()


_KILLED_SCAN = r"""
import sys, time
from pathlib import Path
from lorapilot.tools.mediapilot import scan
from lorapilot.tools.mediapilot.library import MediaLibrary
from lorapilot.stack.workspace.layout import Workspace

scan.BATCH = 20
lib = MediaLibrary(Workspace(Path(sys.argv[1])))
batches = []

def trace(sql):
    # Inside the third batch's transaction (its rows and FTS5 entries written, raw chunks being written):
    # say so and wait to be killed.
    if sql.startswith("BEGIN"):
        batches.append(sql)
    elif sql.startswith("INSERT OR IGNORE INTO media_raw") and len(batches) == 3:
        print("in-transaction", flush=True)
        time.sleep(60)

lib.index.conn.set_trace_callback(trace)
lib.scan()
print("finished", flush=True)
"""


def test_a_scan_killed_inside_a_transaction_leaves_a_sound_index(tmp_path):
    """SIGKILL in the middle of a batch: the batches committed before it stay, the half batch is gone,
    SQLite and FTS5 integrity checks pass and the next scan indexes the rest."""
    import signal
    import subprocess
    import sys

    from lorapilot.tools.mediapilot.library import MediaLibrary

    ctx, lib = make_library(tmp_path)
    lib.close()
    for i in range(100):
        mf.png(ctx.workspace.outputs / f"{i:03d}.png", texts={"parameters": PARAMS.format(f"castle n{i}", "blurry")})
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SCAN, str(ctx.workspace.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "in-transaction", child.stderr.read()
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)

    lib = MediaLibrary.open(ctx)
    assert lib.index.read().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert lib.index.count() == 40  # two whole batches
    assert lib.index.read().execute("SELECT count(DISTINCT media_id) FROM media_raw").fetchone()[0] == 40
    _fts_in_step(lib)
    report = lib.scan()
    assert (report.added, report.unchanged) == (60, 40)
    _fts_in_step(lib)
    assert _total(lib, "castle") == 100
    lib.close()

"""A large first index parses in worker processes: the same rows as parsing in-process, and a worker that
dies leaves its files to be parsed here, not lost."""

from __future__ import annotations

import json

from lorapilot.tools.mediapilot import parse_pool, scan
from support import media_files as mf
from support.media_lib import make_library

PARAMS = "a {}\nSteps: {}, Sampler: Euler, CFG scale: 7, Seed: {}, Size: 64x48, Model: m1"
COLUMNS = "name, positive, negative, steps, seed, model, width, height, error"


def _corpus(out, n: int = 12) -> None:
    for i in range(n):
        mf.png(out / "a" / f"{i}.png", texts={"parameters": PARAMS.format(f"cat {i} 桜の木", 20 + i, i)})
    graph = {"3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 9, "cfg": 6.5}}}
    mf.png(out / "b" / "comfy.png", texts={"prompt": json.dumps(graph)})
    mf.jpeg(out / "b" / "j.jpg", mf.user_comment(PARAMS.format("dog", 30, 9), "unicode-be"))
    (out / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # flagged, still indexed


def _rows(lib) -> list[tuple]:
    conn = lib.index.read()
    media = [tuple(r) for r in conn.execute(f"SELECT {COLUMNS} FROM media ORDER BY name")]
    words = conn.execute("SELECT count(*) FROM media_fts WHERE media_fts MATCH 'cat'").fetchone()[0]
    return media + [("fts cat", words)]


def _scan_in_process(tmp_path) -> list[tuple]:
    ctx, lib = make_library(tmp_path / "inline")
    _corpus(ctx.workspace.outputs)
    report = lib.scan()
    assert report.added == 15
    rows = _rows(lib)
    lib.close()
    return rows


def test_workers_index_the_same_rows_as_one_process(tmp_path, monkeypatch):
    expected = _scan_in_process(tmp_path)
    monkeypatch.setattr(scan, "BATCH", 4)
    monkeypatch.setattr(scan, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parse_pool, "worker_count", lambda: 2)
    started = []
    original = parse_pool._Worker.__init__

    def counting(self):
        original(self)
        started.append(self.proc.pid)

    monkeypatch.setattr(parse_pool._Worker, "__init__", counting)
    here = []
    read_here = scan.read_file

    def counted(root, rel, st):
        here.append(rel)
        return read_here(root, rel, st)

    monkeypatch.setattr(scan, "read_file", counted)
    ctx, lib = make_library(tmp_path / "workers")
    _corpus(ctx.workspace.outputs)
    report = lib.scan()
    assert len(started) == 2
    assert len(here) == 4  # only the first batch, parsed here while the workers start; the rest came back from them
    assert (report.added, report.flagged) == (15, 1)
    assert _rows(lib) == expected
    lib.close()


def test_a_worker_that_dies_leaves_its_files_to_this_process(tmp_path, monkeypatch):
    expected = _scan_in_process(tmp_path)
    monkeypatch.setattr(scan, "BATCH", 4)
    monkeypatch.setattr(scan, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parse_pool, "worker_count", lambda: 2)
    monkeypatch.setattr(parse_pool, "WORKER_MODULE", "lorapilot.no_such_module")  # each worker exits at once
    ctx, lib = make_library(tmp_path / "dead")
    _corpus(ctx.workspace.outputs)
    report = lib.scan()
    assert (report.added, report.flagged) == (15, 1)
    assert _rows(lib) == expected
    lib.close()


def test_a_cancelled_scan_stops_its_workers(tmp_path, monkeypatch):
    import threading

    import pytest

    from lorapilot.kit.progress import Cancelled

    monkeypatch.setattr(scan, "BATCH", 2)
    monkeypatch.setattr(scan, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parse_pool, "worker_count", lambda: 2)
    workers = []
    original = parse_pool._Worker.__init__

    def keep(self):
        original(self)
        workers.append(self.proc)

    monkeypatch.setattr(parse_pool._Worker, "__init__", keep)
    ctx, lib = make_library(tmp_path)
    _corpus(ctx.workspace.outputs)
    cancel = threading.Event()

    def progress(done, total, message):
        if done:
            cancel.set()  # after the first batch is written

    with pytest.raises(Cancelled):
        lib.scan(progress, cancel)
    assert len(workers) == 2 and all(proc.poll() is not None for proc in workers)
    assert lib.index.read().execute("SELECT count(*) FROM media").fetchone()[0] == 2
    lib.close()

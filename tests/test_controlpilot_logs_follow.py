"""Following a log file (what /api/services/{name}/logs/stream and `lorapilot logs -f` read):
progress bars that end lines with '\\r', bursts, and lines longer than one read."""

from __future__ import annotations

import json

import httpx

from lorapilot.kit.logtail import read_from, tail_lines
from support.api import api_token
from support.browser import live_controlpilot


def _follow_all(path, offset=0, max_bytes=None):
    """Every line from ``offset`` to the end, in as many reads as it takes."""
    out, reads = [], 0
    while True:
        lines, new = read_from(path, offset) if max_bytes is None else read_from(path, offset, max_bytes)
        if new == offset:
            return out, reads, offset
        out += lines
        offset, reads = new, reads + 1


def test_progress_updates_ending_in_carriage_returns_arrive_without_waiting_for_a_newline(tmp_path):
    log = tmp_path / "train.log"
    log.write_bytes(b"epoch 1\n\r 10%|#   | 1/10\r 20%|##  | 2/10\r")
    lines, offset = read_from(log, 0)
    assert lines == ["epoch 1", " 10%|#   | 1/10", " 20%|##  | 2/10"]
    assert offset == log.stat().st_size
    with log.open("ab") as fh:
        fh.write(b" 30%|### | 3/")  # an update still being written stays for the next read
    assert read_from(log, offset) == ([], offset)


def test_a_burst_is_read_in_bounded_pieces_and_nothing_is_lost(tmp_path):
    log = tmp_path / "burst.log"
    written = [f"line {i:06d} " + "x" * 80 for i in range(20_000)]  # ~1.8 MB
    log.write_text("\n".join(written) + "\n")
    lines, reads, offset = _follow_all(log, max_bytes=256 * 1024)
    assert lines == written and offset == log.stat().st_size
    assert reads >= 7  # never the whole burst at once
    assert tail_lines(log, 2) == written[-2:]


def test_a_line_longer_than_one_read_comes_in_pieces_instead_of_stalling(tmp_path):
    log = tmp_path / "long.log"
    log.write_bytes(b"y" * 100_000)  # no line end at all, yet
    lines, reads, offset = _follow_all(log, max_bytes=30_000)
    assert "".join(lines) == "y" * 90_000 and reads == 3  # the last, short piece waits for its end
    assert offset == 90_000


def test_the_live_log_stream_neither_splits_nor_repeats_a_line_being_written(ctx):
    log = next(p for p in ctx.plan() if p.name == "tensorboard").log_file
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"first\nsecond\nhalf of a li")  # the service is in the middle of a line
    with live_controlpilot(ctx) as server:
        headers = {"Authorization": f"Bearer {api_token(ctx)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            with http.stream("GET", "/api/services/tensorboard/logs/stream", params={"tail": 10}) as resp:
                events = _line_events(resp.iter_lines())
                assert next(events) == {"lines": ["first", "second"], "initial": True}
                with log.open("ab") as fh:
                    fh.write(b"ne, now complete\n")
                assert next(events) == {"lines": ["half of a line, now complete"]}


def _line_events(lines):
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "lines":
            yield json.loads(line[6:])

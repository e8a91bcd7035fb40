"""``lorapilot.kit.logtail`` is the one log reader: ControlPilot's log follow and TrainPilot's progress
parsing (which had its own ``trainpilot/logread.py`` with different edge cases) both use it."""

from __future__ import annotations

from lorapilot.kit.logtail import read_from, read_records, tail_and_offset, tail_lines, tail_records


def test_a_line_ends_only_at_cr_or_lf(tmp_path):
    # Before, str.splitlines also cut at form feeds, \x1c-\x1e and U+2028, which a trainer may print.
    log = tmp_path / "x.log"
    log.write_text("page\x0cbreak\nsep\u2028arator\r\n", encoding="utf-8")
    assert read_from(log, 0)[0] == ["page\x0cbreak", "sep\u2028arator"]
    assert tail_lines(log, 5) == ["page\x0cbreak", "sep\u2028arator"]
    assert tail_and_offset(log, 5) == (["page\x0cbreak", "sep\u2028arator"], log.stat().st_size)


def test_records_are_lines_without_the_blank_ones(tmp_path):
    log = tmp_path / "train.log"
    log.write_bytes(b"one\n\n\rtwo 10%\rtwo 100%\r\n   \nthree")
    lines, offset = read_from(log, 0)
    assert lines == ["one", "", "two 10%", "two 100%", "   "]
    assert read_records(log, 0) == (["one", "two 10%", "two 100%"], offset)


def test_a_missing_log_reads_from_its_start_when_it_appears(tmp_path):
    # logread kept the old offset for a missing file, so a new log longer than it lost its start.
    log = tmp_path / "train.log"
    assert read_records(log, 120) == ([], 0)
    log.write_bytes(b"first line of the new log\n" * 10)
    assert read_records(log, 0)[0][0] == "first line of the new log"


def test_tail_records_keeps_the_last_redraw_of_each_line_within_a_window(tmp_path):
    log = tmp_path / "train.log"
    log.write_bytes(b"old\n" * 100_000 + b"a 1%\ra 50%\ra 100%\nb\n\n")
    assert tail_records(log, 2) == ["a 100%", "b"]
    assert tail_records(log, 3, max_bytes=64 * 1024)[-3:] == ["old", "a 100%", "b"]
    assert tail_records(tmp_path / "missing.log", 5) == [] and tail_records(log, 0) == []

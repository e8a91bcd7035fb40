"""Progress parsers on real-format log output: tqdm's own ``\\r`` redraws (generated with tqdm,
as sd-scripts and AI Toolkit use it), DeepSpeed's step lines, the native trainer's lines, and
resume offsets."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from tqdm import tqdm

from lorapilot.kit.logtail import read_records, tail_records
from lorapilot.tools.trainpilot.adapters import ADAPTERS, RunSpec, TrainerLocation
from lorapilot.tools.trainpilot.adapters.tqdm import parse_tqdm
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef


def _spec(tmp_path: Path, trainer: str, steps: int = 1000, name: str = "mylora") -> RunSpec:
    profile = build_profile(
        name=name,
        family="sdxl",
        quality="regular",
        vram_gb=24,
        model=ModelRef(base="checkpoints/x.safetensors"),
        dataset_name="cats",
        trainer=trainer,
    )
    profile.training.steps = steps
    return RunSpec(
        profile=profile,
        run_dir=tmp_path,
        models_dir=tmp_path,
        image_dir=tmp_path,
        location=TrainerLocation(env=tmp_path, src=tmp_path),
    )


def _parse_log(adapter, spec, text: str, tmp_path: Path):
    log = tmp_path / "train.log"
    log.write_bytes(text.encode())
    records, offset = read_records(log, 0)
    assert offset == log.stat().st_size or not text.endswith(("\r", "\n"))
    return [p for p in (adapter.parse(r, spec) for r in records) if p is not None]


def _tqdm_stream(total: int, desc: str, steps: int, initial: int = 0, postfix=None, postfix_str=None) -> str:
    buf = io.StringIO()
    bar = tqdm(total=total, desc=desc, initial=initial, file=buf, mininterval=0, smoothing=0, ascii=False)
    for i in range(steps):
        bar.update(1)
        if postfix is not None:
            bar.set_postfix(**postfix(initial + i + 1))
        if postfix_str is not None:
            bar.set_postfix_str(postfix_str(initial + i + 1))
    bar.close()
    return buf.getvalue()


def test_sd_scripts_tqdm_redraws(tmp_path):
    spec = _spec(tmp_path, "kohya")
    text = "prepare optimizer\n" + _tqdm_stream(
        1000, "steps", 120, postfix=lambda s: {"avr_loss": round(0.2 - s / 10000, 4)}
    )
    assert "\r" in text and text.count("\n") <= 3  # really redrawn in place
    progress = _parse_log(ADAPTERS["kohya"], spec, text, tmp_path)
    assert len(progress) >= 120
    last = progress[-1]
    assert (last.step, last.total, last.loss) == (120, 1000, pytest.approx(0.188))
    assert last.its and last.its > 0


def test_sd_scripts_resume_offset_is_added(tmp_path):
    spec = _spec(tmp_path, "kohya", steps=1000)
    # After resuming from a step-400 state the bar counts the 600 steps left.
    text = _tqdm_stream(600, "steps", 50, postfix=lambda s: {"avr_loss": 0.05})
    last = _parse_log(ADAPTERS["kohya"], spec, text, tmp_path)[-1]
    assert (last.step, last.total) == (450, 1000)


def test_sd_scripts_ignores_other_bars(tmp_path):
    spec = _spec(tmp_path, "kohya")
    text = _tqdm_stream(32, "caching latents", 32) + _tqdm_stream(4, "validation steps", 4)
    assert _parse_log(ADAPTERS["kohya"], spec, text, tmp_path) == []


def test_ai_toolkit_bar_starts_at_the_resumed_step(tmp_path):
    spec = _spec(tmp_path, "ai-toolkit", name="mylora")
    text = _tqdm_stream(
        1000, "mylora", 25, initial=300, postfix_str=lambda s: f"lr: 1.0e-04 loss: {0.31 - s / 100000:.3e}"
    )
    text = _tqdm_stream(20, "Caching latents to disk", 20) + text
    progress = _parse_log(ADAPTERS["ai-toolkit"], spec, text, tmp_path)
    last = progress[-1]
    assert (last.step, last.total) == (325, 1000)
    assert last.lr == pytest.approx(1e-4) and last.loss == pytest.approx(0.30675, rel=1e-3)


def test_diffusion_pipe_deepspeed_lines(tmp_path):
    spec = _spec(tmp_path, "diffusion-pipe", steps=500)
    text = (
        "[2025-06-01 10:00:00,000] [INFO] [logging.py:128:log_dist] [Rank 0] step=1, skipped=0, lr=[2e-05]\n"
        "steps: 1 loss: 0.1234 iter time (s): 2.000 samples/sec: 0.500\n"
        "[2025-06-01 10:00:02,000] [INFO] [engine.py:2391] steps: 2 loss: 0.1100 iter time (s): 0.500 samples/sec: 2.000\n"
        "steps: 3 loss: nan iter time (s): 0.500 samples/sec: 2.000\n"
    )
    progress = _parse_log(ADAPTERS["diffusion-pipe"], spec, text, tmp_path)
    assert [p.step for p in progress] == [1, 2, 3]
    assert (
        progress[1].loss == pytest.approx(0.11) and progress[1].its == pytest.approx(2.0) and progress[1].total == 500
    )
    assert progress[2].loss != progress[2].loss  # nan stays nan


def test_native_lines_and_events(tmp_path):
    spec = _spec(tmp_path, "native")
    text = (
        "loading pipeline\n"
        "[trainpilot] step=120 total=1000 loss=0.087100 lr=1.000e-04 its=1.92\n"
        "[trainpilot] sample step=120 path=/w/out/samples/000120_0.png\n"
        "[trainpilot] checkpoint step=120 path=/w/out dir/mylora-step00000120.safetensors\n"
        "[trainpilot] done path=/w/out/mylora.safetensors\n"
    )
    progress = _parse_log(ADAPTERS["native"], spec, text, tmp_path)
    assert (progress[0].step, progress[0].total, progress[0].loss, progress[0].lr, progress[0].its) == (
        120,
        1000,
        0.0871,
        1e-4,
        1.92,
    )
    assert progress[1].event == "sample" and progress[1].path.endswith("000120_0.png")
    assert progress[2].path == "/w/out dir/mylora-step00000120.safetensors"
    assert progress[3].event == "done" and progress[3].step is None


def test_rate_in_seconds_per_iteration():
    line = parse_tqdm("steps:   1%|          | 12/1000 [00:27<38:02,  2.31s/it, avr_loss=0.112]")
    assert line.n == 12 and line.its == pytest.approx(1 / 2.31)
    assert parse_tqdm("steps:   0%|          | 0/1000 [00:00<?, ?it/s]").its is None


def test_read_records_keeps_an_unfinished_record_for_later(tmp_path):
    log = tmp_path / "train.log"
    log.write_bytes("steps: a\rsteps: b\rsteps: c█".encode())
    records, offset = read_records(log, 0)
    assert records == ["steps: a", "steps: b"]
    with open(log, "ab") as fh:
        fh.write(b"d\nnext line\n")
    records, offset2 = read_records(log, offset)
    assert records == ["steps: c█d", "next line"] and offset2 == log.stat().st_size
    assert read_records(log, offset2) == ([], offset2)
    log.write_bytes(b"short\n")  # truncated: read again from the start
    assert read_records(log, offset2)[0] == ["short"]


def test_tail_records_keeps_only_the_last_redraw_of_each_line(tmp_path):
    log = tmp_path / "train.log"
    text = "start\n" + _tqdm_stream(100, "steps", 100) + "Traceback (most recent call last):\nValueError: boom\n"
    log.write_text(text)
    tail = tail_records(log, 50)
    assert tail[0] == "start" and tail[-1] == "ValueError: boom"
    assert sum(1 for line in tail if line.startswith("steps")) == 1

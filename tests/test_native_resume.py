"""Stopping and resuming the native trainer: SIGKILL, SIGTERM, the save_quit file, --resume auto|PATH."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lorapilot.tools.trainpilot.native.cli import main
from support.native_runs import (  # noqa: F401  (tiny_sd1 is a fixture)
    RunningTrainer,
    base_config,
    events,
    kill_group,
    run_trainer,
    steps_of,
    tiny_sd1,
    write_config,
)

pytestmark = pytest.mark.slow


def test_sigkill_mid_run_then_resume_auto_reaches_the_same_final_step(tiny_sd1, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    config = write_config(tmp_path / "run.toml", base_config(tiny_sd1, out, steps=40))
    run = RunningTrainer(config, "--resume", "auto", stderr_path=tmp_path / "first.err")
    try:
        saved = run.wait_for(lambda e: e["kind"] == "state" and int(e["step"]) >= 16)
        run.wait_for(lambda e: e["kind"] == "step" and int(e["step"]) > int(saved["step"]))
        run.signal_group(signal.SIGKILL)
        assert run.finish() == -signal.SIGKILL
    finally:
        kill_group(run.proc)
    killed_at = max(steps_of(run.text))
    assert killed_at < 40
    last_state = max(int(e["step"]) for e in events(run.text) if e["kind"] == "state")

    resumed = run_trainer(config, "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    steps = steps_of(resumed.stdout)
    assert steps == list(range(last_state + 1, 41))
    assert events(resumed.stdout)[-1] == {"kind": "done", "path": str(out / "tiny.safetensors")}
    assert (out / "tiny.safetensors").is_file()
    assert not list(out.glob("*.partial"))


def test_sigterm_saves_exits_zero_and_the_resumed_run_ends_where_an_unbroken_one_does(tiny_sd1, tmp_path):  # noqa: F811
    steps = 30
    template = base_config(tiny_sd1, tmp_path / "unused", steps=steps)
    template["save"]["every_n_steps"] = 1000
    template["dataset"].update({"caption_dropout": 0.2, "shuffle_tags": True, "keep_tokens": 1})

    straight = write_config(tmp_path / "a.toml", template, output_dir=str(tmp_path / "a"))
    result = run_trainer(straight)
    assert result.returncode == 0, result.stderr[-3000:]

    broken = write_config(tmp_path / "b.toml", template, output_dir=str(tmp_path / "b"))
    run = RunningTrainer(broken, stderr_path=tmp_path / "b.err")
    try:
        run.wait_for(lambda e: e["kind"] == "step" and int(e["step"]) >= 5)
        run.signal_group(signal.SIGTERM)
        assert run.finish() == 0
    finally:
        kill_group(run.proc)
    found = events(run.text)
    stopped = int(found[-1]["step"])
    assert found[-1]["kind"] == "stopped" and 5 <= stopped < steps
    checkpoint = tmp_path / "b" / f"tiny-step{stopped:08d}.safetensors"
    assert {"kind": "checkpoint", "step": str(stopped), "path": str(checkpoint)} in found
    assert (tmp_path / "b" / f"state-step{stopped:08d}" / "trainer_state.json").is_file()
    assert not any(e["kind"] == "done" for e in found)

    resumed = run_trainer(broken, "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert steps_of(resumed.stdout) == list(range(stopped + 1, steps + 1))

    # Optimizer, schedule, RNG and data order all came back: the weights match the unbroken run.
    a = load_file(tmp_path / "a" / "tiny.safetensors")
    b = load_file(tmp_path / "b" / "tiny.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)


def test_save_quit_file_stops_the_run_and_resume_from_a_path_continues_with_the_same_adapter(
    tiny_sd1,  # noqa: F811 - the fixture, by name
    tmp_path,
    capsys,
):
    out = tmp_path / "out"
    config = write_config(tmp_path / "run.toml", base_config(tiny_sd1, out, steps=24))
    run = RunningTrainer(config, stderr_path=tmp_path / "first.err")
    try:
        run.wait_for(lambda e: e["kind"] == "step" and int(e["step"]) >= 3)
        (out / "save_quit").touch()
        assert run.finish() == 0
    finally:
        kill_group(run.proc)
    stopped = int(events(run.text)[-1]["step"])
    assert events(run.text)[-1]["kind"] == "stopped"
    assert not (out / "save_quit").exists()  # honoured once, so the resumed run does not stop again
    state = out / f"state-step{stopped:08d}"

    changed = write_config(tmp_path / "changed.toml", base_config(tiny_sd1, out, steps=24), network={"rank": 8})
    assert main(["--config", str(changed), "--resume", str(state)]) == 2  # in this process: quicker
    assert "rank was 4 when saved, the config now says 8" in capsys.readouterr().err

    resumed = run_trainer(config, "--resume", str(state))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert steps_of(resumed.stdout) == list(range(stopped + 1, 25))


def test_resume_from_a_folder_that_is_no_state_is_a_clear_error(tiny_sd1, tmp_path, capsys):  # noqa: F811
    config = write_config(tmp_path / "run.toml", base_config(tiny_sd1, tmp_path / "out", steps=4))
    assert main(["--config", str(config), "--resume", str(tmp_path)]) == 2
    assert f"--resume: {tmp_path} is not a state folder" in capsys.readouterr().err


def test_a_stop_on_a_sample_step_still_writes_that_steps_samples(tiny_sd1, tmp_path):  # noqa: F811
    """The resumed run starts at the next step, so samples skipped by the stop would never be made."""
    out = tmp_path / "out"
    template = base_config(tiny_sd1, out, steps=6)
    template["sample"].update({"prompts": ["tok, red, square"], "every_n_steps": 1, "width": 64, "height": 64})
    config = write_config(tmp_path / "run.toml", template)
    out.mkdir(parents=True)
    (out / "save_quit").touch()  # honoured after the first step, which is a sample step
    run = run_trainer(config)
    assert run.returncode == 0, run.stderr[-3000:]
    found = events(run.stdout)
    assert found[-1] == {"kind": "stopped", "step": "1"}
    samples = [e for e in found if e["kind"] == "sample"]
    assert [e["step"] for e in samples] == ["1"] and all(Path(e["path"]).is_file() for e in samples)

"""Multi-process training through `accelerate launch` (DDP over gloo on the CPU): stop, resume, finish."""

from __future__ import annotations

import json

import pytest
from support.native_runs import (  # noqa: F401  (tiny_sd1 is a fixture)
    RunningTrainer,
    base_config,
    ddp_command,
    events,
    kill_group,
    load_sd1,
    run_trainer,
    steps_of,
    tiny_sd1,
    write_config,
)
from support.workspaces import free_port

pytestmark = pytest.mark.slow


def test_two_process_ddp_saves_on_save_quit_resumes_and_writes_a_lora(tiny_sd1, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    config = write_config(tmp_path / "run.toml", base_config(tiny_sd1, out, steps=16))
    first = RunningTrainer(config, stderr_path=tmp_path / "first.err", command=ddp_command(config, free_port()))
    try:
        first.wait_for(lambda e: e["kind"] == "step" and int(e["step"]) >= 3, timeout=240)
        (out / "save_quit").touch()
        assert first.finish(timeout=180) == 0, (tmp_path / "first.err").read_text()[-3000:]
    finally:
        kill_group(first.proc)
    stopped = int(events(first.text)[-1]["step"])
    assert events(first.text)[-1]["kind"] == "stopped" and stopped < 16
    state = out / f"state-step{stopped:08d}"
    # Both processes saved their RNG streams; the run knew it had two.
    assert (state / "random_states_0.pkl").is_file() and (state / "random_states_1.pkl").is_file()
    assert json.loads((state / "trainer_state.json").read_text())["num_processes"] == 2

    resumed = run_trainer(config, command=ddp_command(config, free_port(), "--resume", "auto"), timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    steps = steps_of(resumed.stdout)
    assert steps == list(range(stopped + 1, 17))  # only the main process reports
    assert events(resumed.stdout)[-1] == {"kind": "done", "path": str(out / "tiny.safetensors")}
    pipe = load_sd1(tiny_sd1.model, out / "tiny.safetensors")
    assert any("lora" in name for name, _ in pipe.unet.named_parameters())

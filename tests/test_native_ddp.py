"""Multi-process training through `accelerate launch` (DDP over gloo on the CPU): stop, resume, finish;
and accelerate's own multi-CPU launch (`--cpu --num_processes 2`, processes started by mpirun)."""

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
    mpi_cpu_command,
    mpi_hostfile,
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


def test_accelerate_launch_cpu_with_two_processes_trains_one_lora(tiny_sd1, tmp_path):  # noqa: F811
    hostfile = mpi_hostfile(tmp_path)
    if hostfile is None:
        pytest.skip(
            "accelerate launch --cpu starts several processes only through mpirun: install mpich (.ci/run does)"
        )
    out = tmp_path / "out"
    config = write_config(tmp_path / "run.toml", base_config(tiny_sd1, out, steps=8))
    result = run_trainer(config, command=mpi_cpu_command(config, free_port(), hostfile), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert steps_of(result.stdout) == list(range(1, 9))  # only the main process reports progress...
    assert result.stderr.count("2 process(es)") == 1, result.stderr[-3000:]  # ...and logs; both joined one group
    assert "runs a single process" not in result.stderr
    state = out / "state-step00000008"
    assert json.loads((state / "trainer_state.json").read_text())["num_processes"] == 2
    assert (state / "random_states_0.pkl").is_file() and (state / "random_states_1.pkl").is_file()
    assert events(result.stdout)[-1] == {"kind": "done", "path": str(out / "tiny.safetensors")}
    pipe = load_sd1(tiny_sd1.model, out / "tiny.safetensors")
    assert any("lora" in name for name, _ in pipe.unet.named_parameters())


@pytest.mark.parametrize(
    "variables,rank",
    [
        ({}, 0),
        ({"RANK": "1", "LOCAL_RANK": "1"}, 1),  # torchrun
        ({"PMI_RANK": "1"}, 1),  # MPICH's mpirun
        ({"OMPI_COMM_WORLD_RANK": "1"}, 1),  # Open MPI's
    ],
)
def test_the_rank_comes_from_whichever_launcher_started_the_process(monkeypatch, variables, rank):
    from lorapilot.tools.trainpilot.native.cli import process_rank

    for name in ("RANK", "LOCAL_RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert process_rank() == rank


def test_a_cpu_launch_that_started_one_process_says_how_to_start_more(monkeypatch, caplog):
    from lorapilot.tools.trainpilot.native.cli import _warn_lonely_cpu_launch

    for name in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_PORT", "29500")  # what accelerate's simple launcher sets for --num_processes 2
    with caplog.at_level("WARNING"):
        _warn_lonely_cpu_launch()
    assert "--mpirun_hostfile" in caplog.text and "--multi_gpu" in caplog.text
    caplog.clear()
    monkeypatch.setenv("PMI_SIZE", "2")
    with caplog.at_level("WARNING"):
        _warn_lonely_cpu_launch()
    assert caplog.text == ""

"""The rendered commands of a job across several machines: torchrun's c10d rendezvous for the
native trainer and Kohya, DeepSpeed's launcher without ssh for Diffusion Pipe (rendered only: no
cluster here; the native command's launch itself is run in tests/test_native_multinode.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lorapilot.tools.trainpilot.adapters import ADAPTERS
from lorapilot.tools.trainpilot.profiles import TrainingSettings
from test_trainpilot_adapter_configs import _spec

RDZV = ["--nnodes=2", "--nproc_per_node=4", "--rdzv_backend=c10d", "--rdzv_endpoint=10.0.0.5:29400"]


def _several(spec, nodes=2, gpus=4):
    spec.profile.training.num_gpus = gpus
    spec.profile.training.rendezvous = "10.0.0.5:29400"
    spec.profile.training.num_nodes = nodes
    return spec


def test_native_trainer_meets_through_torchrun(tmp_path):
    spec = _several(_spec(tmp_path, "native", "sd15", "regular", 24))
    argv = ADAPTERS["native"].command(spec).argv
    assert argv[1:3] == ["-m", "torch.distributed.run"] and argv[3:7] == RDZV
    assert argv[7] == "--rdzv_id=lora-sd15"
    assert argv[8:] == ["-m", "lorapilot.tools.trainpilot.native", "--config", str(spec.run_dir / "run.toml")]


def test_kohya_meets_through_torchrun_with_accelerates_settings_in_the_environment(tmp_path):
    spec = _several(_spec(tmp_path, "kohya", "sdxl", "regular", 24))
    command = ADAPTERS["kohya"].command(spec)
    assert command.argv[1:3] == ["-m", "torch.distributed.run"] and command.argv[3:7] == RDZV
    assert command.argv[-3].endswith("sdxl_train_network.py") and command.argv[-2:] == [
        "--config_file",
        str(spec.run_dir / "run.toml"),
    ]
    assert command.env["ACCELERATE_MIXED_PRECISION"] == spec.profile.training.mixed_precision


def test_diffusion_pipe_uses_deepspeeds_launcher_without_ssh(tmp_path, monkeypatch):
    monkeypatch.setenv("LORAPILOT_NODE_RANK", "1")
    spec = _several(_spec(tmp_path, "diffusion-pipe", "sdxl", "regular", 24), nodes=3, gpus=8)
    argv = ADAPTERS["diffusion-pipe"].command(spec).argv
    assert argv[1:7] == [
        "--num_nodes=3",
        "--num_gpus=8",
        "--no_ssh",
        "--node_rank=1",
        "--master_addr=10.0.0.5",
        "--master_port=29400",
    ]
    assert argv[argv.index("--master_port") + 1] == "29400" and not any(a.startswith("--include") for a in argv)


def test_several_nodes_need_a_rendezvous_and_ai_toolkit_refuses(tmp_path):
    with pytest.raises(ValidationError, match="rendezvous: num_nodes is 2"):
        TrainingSettings(steps=10, num_nodes=2)
    with pytest.raises(ValidationError, match="rendezvous"):
        TrainingSettings(steps=10, num_nodes=2, rendezvous="no port here")
    spec = _several(_spec(tmp_path, "ai-toolkit", "sdxl", "regular", 24), gpus=1)
    issues = ADAPTERS["ai-toolkit"].check(spec)
    assert any(i.field == "training.num_nodes" and "one machine" in i.message for i in issues)

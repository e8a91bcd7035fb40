"""Training across machines: two "nodes" on loopback (one CPU process each, gloo) meet through
torchrun's c10d rendezvous, exactly as the rendered multi-node command starts them, and write the
same LoRA as one process accumulating the same global batch."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from lorapilot.tools.trainpilot.adapters.multinode import torchrun_args
from support.native_runs import base_config, child_env, run_trainer, steps_of, tiny_sd1, write_config  # noqa: F401
from support.workspaces import free_port

pytestmark = pytest.mark.slow
# float32 on the CPU; the only difference is the order of the gradient sum (all-reduce vs accumulation).
RTOL, ATOL = 1e-4, 1e-6


def test_two_nodes_on_loopback_write_the_lora_of_one_process_with_the_same_global_batch(tiny_sd1, tmp_path):  # noqa: F811
    steps = 4
    single_out, nodes_out = tmp_path / "single", tmp_path / "nodes"
    single = write_config(
        tmp_path / "single.toml",
        base_config(tiny_sd1, single_out, steps=steps),
        training={"steps": steps, "batch_size": 1, "gradient_accumulation": 2},
    )
    nodes = write_config(
        tmp_path / "nodes.toml",
        base_config(tiny_sd1, nodes_out, steps=steps),
        training={"steps": steps, "batch_size": 1, "gradient_accumulation": 1},
    )

    one = run_trainer(single, timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]

    endpoint = f"127.0.0.1:{free_port()}"
    argv = [
        sys.executable,
        *torchrun_args(2, 1, endpoint, "tiny-two-nodes"),
        "-m",
        "lorapilot.tools.trainpilot.native",
        "--config",
        str(nodes),
    ]
    machines = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
        for _ in range(2)
    ]
    results = [m.communicate(timeout=300) for m in machines]
    for machine, (_out, err) in zip(machines, results):
        assert machine.returncode == 0, err[-3000:]
    reported = [steps_of(out) for out, _ in results]
    assert sorted(reported, key=len) == [[], list(range(1, steps + 1))]  # only the global main process reports
    assert "2 process(es)" in "".join(err for _, err in results)

    a, b = load_file(single_out / "tiny.safetensors"), load_file(nodes_out / "tiny.safetensors")
    assert a.keys() == b.keys()
    ups = [k for k in a if "lora_up" in k]
    assert ups and any(a[k].abs().max() > 0 for k in ups)  # it trained: lora_up starts at zero
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=RTOL, atol=ATOL), f"{key}: differs by {worst}"

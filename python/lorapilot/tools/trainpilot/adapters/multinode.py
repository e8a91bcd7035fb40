"""Launch arguments for training across several machines (``training.num_nodes`` > 1).

torchrun's c10d rendezvous (native trainer, Kohya) needs no node rank: every machine runs the same
command and the rendezvous hands out ranks. DeepSpeed's launcher without ssh (Diffusion Pipe) does
need one: ``LORAPILOT_NODE_RANK`` (the Kubernetes export sets it from the Job's completion index).
"""

from __future__ import annotations

import os
import re

NODE_RANK_ENV = "LORAPILOT_NODE_RANK"


def rendezvous_id(name: str) -> str:
    """A rendezvous id from the run's name (same on every machine of one job)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:64] or "lorapilot"


def torchrun_args(num_nodes: int, procs_per_node: int, endpoint: str, run_id: str) -> list[str]:
    """``python -m torch.distributed.run`` options for ``num_nodes`` machines meeting at ``endpoint``."""
    return [
        "-m", "torch.distributed.run",
        f"--nnodes={num_nodes}", f"--nproc_per_node={procs_per_node}",
        "--rdzv_backend=c10d", f"--rdzv_endpoint={endpoint}", f"--rdzv_id={run_id}",
    ]  # fmt: skip


def deepspeed_node_args(num_nodes: int, gpus_per_node: int, endpoint: str, rank: str | None = None) -> list[str]:
    """``deepspeed`` options for one machine of ``num_nodes`` without ssh (DeepSpeed >= 0.14.5);
    ``rank`` defaults to ``$LORAPILOT_NODE_RANK``, else 0."""
    host, _, port = endpoint.rpartition(":")
    rank = rank if rank is not None else os.environ.get(NODE_RANK_ENV, "0")
    return [
        f"--num_nodes={num_nodes}",
        f"--num_gpus={gpus_per_node}",
        "--no_ssh",
        f"--node_rank={rank}",
        f"--master_addr={host}",
        f"--master_port={port}",
    ]

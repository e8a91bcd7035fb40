"""Command line of the native trainer (what the TrainPilot queue runs)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from lorapilot.kit.errors import LorapilotError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lorapilot.tools.trainpilot.native",
        description="Train a LoRA with diffusers + peft + accelerate (run under `accelerate launch` for DDP).",
    )
    parser.add_argument("--config", required=True, type=Path, help="run settings (TOML, see config.py)")
    parser.add_argument(
        "--resume",
        metavar="auto|PATH",
        help="continue from a state folder; 'auto' takes the newest in output_dir, or starts fresh",
    )
    return parser.parse_args(argv)


# Where each launcher puts the global rank: torchrun, then MPICH/Intel MPI, Open MPI and MVAPICH (mpirun,
# which `accelerate launch --cpu --mpirun_hostfile` uses); accelerate itself reads the same names.
_RANK_VARIABLES = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "LOCAL_RANK")


def process_rank() -> int:
    """This process's rank as its launcher set it (0 when started alone), before accelerate starts."""
    for name in _RANK_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def _setup_logging() -> None:
    # Only the main process talks; the others report warnings and errors.
    rank = process_rank()
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format=f"%(asctime)s %(levelname)s native[{rank}]: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("diffusers", "transformers", "accelerate", "torch", "peft"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.disable_progress_bar()
        diffusers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
    except ImportError:
        pass


def _warn_lonely_cpu_launch() -> None:
    """`accelerate launch --cpu --num_processes N` starts one process unless MPI starts the others."""
    env = os.environ
    launched_for_many = env.get("ACCELERATE_USE_CPU", "").lower() == "true" and "MASTER_PORT" in env
    world = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
    if launched_for_many and not any(name in env for name in world):
        logging.getLogger(__name__).warning(
            "accelerate launch --cpu runs a single process unless --mpirun_hostfile starts the others; "
            "for several CPU processes use `accelerate launch --multi_gpu --num_processes N` (torchrun)"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _setup_logging()
    _warn_lonely_cpu_launch()
    from .config import load_config
    from .trainer import Trainer

    if not args.config.is_file():
        print(f"error: --config: {args.config} is not a file", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
        return Trainer(config, resume=args.resume).train()
    except LorapilotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

"""Command line of the native trainer (what the TrainPilot queue runs)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from lorapilot.errors import LorapilotError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lorapilot.trainpilot.native",
        description="Train a LoRA with diffusers + peft + accelerate (run under `accelerate launch` for DDP).",
    )
    parser.add_argument("--config", required=True, type=Path, help="run settings (TOML, see config.py)")
    parser.add_argument(
        "--resume",
        metavar="auto|PATH",
        help="continue from a state folder; 'auto' takes the newest in output_dir, or starts fresh",
    )
    return parser.parse_args(argv)


def _setup_logging() -> None:
    # Only the main process talks; the others report warnings and errors.
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _setup_logging()
    from .config import load_config
    from .trainer import Trainer

    try:
        config = load_config(args.config)
        return Trainer(config, resume=args.resume).train()
    except LorapilotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

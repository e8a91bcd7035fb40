"""``python -m lorapilot.tools.trainpilot.grid JOB_ID --workspace ROOT``: a finished job's automatic grid.

The queue worker runs this as a child process: loading diffusers pipelines patches torch for the whole
process (empty-weights loading), so it must not happen beside the worker's other work, nor leave torch
threads in the worker's process when it exits.
"""

from __future__ import annotations

import argparse
import logging
import sys

from lorapilot.stack.context import load_context


def main(argv: list[str] | None = None) -> int:
    """Render the automatic test grid of one finished job; 0 when rendered or skipped, 1 on an error."""
    parser = argparse.ArgumentParser(prog="python -m lorapilot.tools.trainpilot.grid")
    parser.add_argument("job_id", type=int)
    parser.add_argument("--workspace", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    from ..actions import get_job
    from .jobgrid import auto_grid_after_training

    ctx = load_context(args.workspace)
    try:
        auto_grid_after_training(ctx, get_job(ctx, args.job_id))
    except Exception:  # noqa: BLE001 - the log beside the job says why; the queue never waits on it
        logging.exception("test grid for job %s failed", args.job_id)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

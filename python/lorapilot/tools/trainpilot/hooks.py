"""TrainPilot's hooks, called by the shells through ``lorapilot.tools.TOOLS``."""

from __future__ import annotations

from lorapilot.tools.trainpilot.shutdown import still_training, stop_running_jobs


def on_down(ctx, keep_training: bool) -> list[str]:
    """``lorapilot down``: stop and save running training jobs, unless ``keep_training``."""
    if keep_training:
        return [
            f"training job {job.id} ({job.name}) is still training; the next `lorapilot up` follows it again"
            for job in still_training(ctx)
        ]
    lines = []
    stopped, driven = stop_running_jobs(ctx)
    if not driven:
        lines.append(
            "another queue worker (`lorapilot trainpilot worker`) drives the training queue; its jobs keep running"
        )
    for item in stopped:
        how = (
            item.job.error
            if item.saved
            else "killed (this trainer cannot save on request); resume continues from its last saved state"
        )
        lines.append(
            f"training job {item.job.id} ({item.job.name}): {how} (`lorapilot trainpilot resume {item.job.id}`)"
        )
    return lines

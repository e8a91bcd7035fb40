"""``lorapilot shutdown``: stop this machine at a time, after idling, or once the queue is empty."""

from __future__ import annotations

import json

import click

from lorapilot.stack.clickopts import FullHelpGroup, workspace_option


@click.group("shutdown", cls=FullHelpGroup)
def shutdown_group() -> None:
    """Stop this machine at a time, after N minutes idle, or once the queue is empty.

    The stop runs ``[trainpilot] stop_command`` (e.g. runpodctl stop pod $RUNPOD_POD_ID) from the queue
    worker; nothing fires while a training job runs or waits. See docs/beyond-one-gpu.md.
    """


def _armed(plan_ctx, plan) -> None:
    from lorapilot.tools.trainpilot.autostop import describe, status
    from lorapilot.tools.trainpilot.worker import worker_running

    click.echo(describe(status(plan_ctx)))
    if not worker_running(plan_ctx):
        click.echo(
            "note: no queue worker runs (ControlPilot or `lorapilot train worker`): nothing fires until one does",
            err=True,
        )


@shutdown_group.command("in")
@click.argument("duration")
@workspace_option
def in_cmd(ctx, duration: str) -> None:
    """Stop the machine DURATION from now (30m, 2h, 1h30m, 90s)."""
    from lorapilot.tools.trainpilot.autostop import schedule_in

    _armed(ctx, schedule_in(ctx, duration))


@shutdown_group.command("at")
@click.argument("time_of_day")
@workspace_option
def at_cmd(ctx, time_of_day: str) -> None:
    """Stop the machine at TIME_OF_DAY (HH:MM local time, tomorrow once passed; or an ISO date-time)."""
    from lorapilot.tools.trainpilot.autostop import schedule

    _armed(ctx, schedule(ctx, "at", time_of_day))


@shutdown_group.command("idle")
@click.argument("duration")
@workspace_option
def idle_cmd(ctx, duration: str) -> None:
    """Stop the machine once it has been idle for DURATION (no job, no connection to a service, GPU quiet)."""
    from lorapilot.tools.trainpilot.autostop import schedule

    _armed(ctx, schedule(ctx, "idle", duration))


@shutdown_group.command("after-queue")
@workspace_option
def after_queue_cmd(ctx) -> None:
    """Stop the machine as soon as the training queue is empty."""
    from lorapilot.tools.trainpilot.autostop import schedule

    _armed(ctx, schedule(ctx, "after-queue"))


@shutdown_group.command("cancel")
@workspace_option
def cancel_cmd(ctx) -> None:
    """Cancel the scheduled machine stop."""
    from lorapilot.tools.trainpilot.autostop import cancel

    click.echo("machine stop cancelled" if cancel(ctx) else "no machine stop was scheduled")


@shutdown_group.command("status")
@click.option("--json", "as_json", is_flag=True)
@workspace_option
def status_cmd(ctx, as_json: bool) -> None:
    """Show the scheduled machine stop and its countdown."""
    from lorapilot.tools.trainpilot import actions
    from lorapilot.tools.trainpilot.autostop import describe, status

    counts = actions.queue_status(ctx)["counts"]
    state = status(ctx, busy=bool(counts["running"] or counts["queued"]))
    click.echo(json.dumps(state) if as_json else describe(state))

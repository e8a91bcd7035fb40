"""``lorapilot up | down | status | start | stop | restart | logs | urls``."""

from __future__ import annotations

import json
import time

import click

from lorapilot.cli.common import format_bytes, format_duration, public_host, workspace_option
from lorapilot.runner import BACKENDS


def _print_urls(ctx) -> None:
    host = public_host(ctx)
    for plan in ctx.plan(False):
        if plan.oneshot:
            continue
        note = "" if plan.installed else f"   (not installed: {plan.install_hint})"
        click.echo(f"  {plan.title:<18} {plan.open_url(host)}{note}")


@click.command("up")
@click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True)
@click.option("--no-tui", is_flag=True, help="Run process-compose headless (as in the OCI image).")
@click.option("--detach", is_flag=True, help="Start in the background and return.")
@workspace_option
def up_cmd(ctx, backend: str, no_tui: bool, detach: bool) -> None:
    """Initialise the workspace, render the configuration and start every service."""
    from lorapilot.runner import choose_backend, up

    chosen = choose_backend(backend)
    click.echo(f"LoRA Pilot: workspace {ctx.workspace.root}, backend {chosen}")
    if not detach:
        _print_urls(ctx)
    _, chosen = up(ctx, backend=chosen, tui=not no_tui, detach=detach)
    click.echo(f"started {chosen} in the background; `lorapilot status` shows the services:")
    _print_urls(ctx)


@click.command("down")
@click.option("--keep-training", is_flag=True,
              help="Leave running training jobs running (the next `up` follows them again); default: stop and save them.")
@workspace_option
def down_cmd(ctx, keep_training: bool) -> None:
    """Stop every service and the process manager, and stop (and save) running training jobs."""
    from lorapilot.runner import down
    from lorapilot.trainpilot.shutdown import still_training, stop_running_jobs

    click.echo("stopped" if down(ctx) else "LoRA Pilot was not running")
    if keep_training:
        for job in still_training(ctx):
            click.echo(f"training job {job.id} ({job.name}) is still training; the next `lorapilot up` follows it again")
        return
    stopped, driven = stop_running_jobs(ctx)
    if not driven:
        click.echo("another queue worker (`lorapilot train worker`) drives the training queue; its jobs keep running")
    for item in stopped:
        how = item.job.error if item.saved else "killed (this trainer cannot save on request); resume continues from its last saved state"
        click.echo(f"training job {item.job.id} ({item.job.name}): {how} (`lorapilot train resume {item.job.id}`)")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def status_cmd(ctx, as_json: bool) -> None:
    """Show each service: state, readiness, restarts, uptime, memory."""
    from lorapilot.services import get_manager

    statuses = get_manager(ctx).status()
    if as_json:
        click.echo(json.dumps([s.model_dump() for s in statuses], indent=2))
        return
    click.echo(f"{'SERVICE':<14} {'STATE':<14} {'READY':<6} {'PORT':>5} {'RESTARTS':>8} {'UPTIME':>8} {'MEMORY':>10}")
    for s in statuses:
        if s.state == "not_installed":
            click.echo(f"{s.name:<14} {'not installed':<14} {'-':<6} {s.port:>5}   install: {s.install_hint}")
            continue
        ready = {True: "yes", False: "no", None: "-"}[s.ready]
        click.echo(
            f"{s.name:<14} {s.state:<14} {ready:<6} {s.port:>5} {s.restarts:>8} "
            f"{format_duration(s.uptime_s):>8} {format_bytes(s.memory_bytes):>10}"
        )


def _service_action(verb: str):
    @click.command(verb, help=f"{verb.capitalize()} one service.")
    @click.argument("name")
    @workspace_option
    def command(ctx, name: str) -> None:
        from lorapilot.services import get_manager

        getattr(get_manager(ctx), verb)(name)
        click.echo(f"{verb}: {name}")

    return command


start_cmd = _service_action("start")
stop_cmd = _service_action("stop")
restart_cmd = _service_action("restart")


@click.command("logs")
@click.argument("name")
@click.option("--tail", "-n", default=100, show_default=True, help="Lines to show.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@workspace_option
def logs_cmd(ctx, name: str, tail: int, follow: bool) -> None:
    """Print a service's log."""
    from lorapilot.logtail import read_from, tail_and_offset
    from lorapilot.services import get_manager

    manager = get_manager(ctx)
    if not follow:
        for line in manager.logs(name, tail):
            click.echo(line)
        return
    # Both backends write the service's log file: tail it and follow on from
    # exactly where the tail ended, so no line is lost or repeated.
    path = manager.plan(name).log_file
    lines, offset = tail_and_offset(path, tail)
    while True:
        for line in lines:
            click.echo(line)
        time.sleep(0.5)
        lines, offset = read_from(path, offset)


@click.command("urls")
@workspace_option
def urls_cmd(ctx) -> None:
    """Print the URL of every service."""
    _print_urls(ctx)

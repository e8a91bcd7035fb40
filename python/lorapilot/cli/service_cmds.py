"""``lorapilot up | down | status | start | stop | restart | logs | urls``."""

from __future__ import annotations

import json
import time

import click

from lorapilot.cli.common import format_bytes, format_duration, public_host, workspace_option
from lorapilot.stack.lifecycle import BACKENDS
from lorapilot.tools import run_on_init


def _print_urls(ctx) -> None:
    from lorapilot.stack.addresses import login_secret, reach_note

    host = public_host(ctx)
    for plan in ctx.plan(False):
        if plan.oneshot:
            continue
        secret = login_secret(plan)
        note = f"   login: `lorapilot secrets show {secret}`" if secret and plan.installed else ""
        if not plan.installed:
            note = f"   (not installed: {plan.install_hint})"
        click.echo(f"  {plan.title:<18} {plan.open_url(host):<28}{note}".rstrip())
    click.echo(f"  {reach_note(ctx.settings.host)}")


@click.command("up")
@click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True)
@click.option(
    "--no-tui",
    is_flag=True,
    help="No live view: process-compose headless (as in the OCI image); supervisord's view printed once.",
)
@click.option("--detach", is_flag=True, help="Start in the background and return.")
@workspace_option
def up_cmd(ctx, backend: str, no_tui: bool, detach: bool) -> None:
    """Initialise the workspace, render the configuration and start every service."""
    from lorapilot.stack.cudastack import host_driver_warning
    from lorapilot.stack.lifecycle import choose_backend, up

    chosen = choose_backend(backend)
    if detach or chosen != "supervisord":
        click.echo(f"LoRA Pilot: workspace {ctx.workspace.root}, backend {chosen}")
    warning = host_driver_warning(components_dir=ctx.components_dir)
    if warning:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if not detach and chosen != "supervisord":
        _print_urls(ctx)
    ended: list[int] = []

    def watch(child) -> None:  # supervisord in the foreground: our own view of it (it has none)
        from lorapilot.cli.up_view import watch_foreground

        ended.append(watch_foreground(ctx, child, chosen, live=not no_tui))

    _, chosen = up(ctx, backend=chosen, tui=not no_tui, detach=detach, tool_steps=run_on_init, watch=watch)
    if ended:
        raise SystemExit(ended[0])
    click.echo(f"started {chosen} in the background; `lorapilot status` shows the services:")
    _print_urls(ctx)


@click.command("down")
@click.option(
    "--keep-training",
    is_flag=True,
    help="Leave running training jobs running (the next `up` follows them again); default: stop and save them.",
)
@workspace_option
def down_cmd(ctx, keep_training: bool) -> None:
    """Stop every service and the process manager, and stop (and save) running training jobs."""
    from lorapilot.stack.lifecycle import down
    from lorapilot.tools import run_on_down

    click.echo("stopped" if down(ctx) else "LoRA Pilot was not running")
    for line in run_on_down(ctx, keep_training):
        click.echo(line)


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def status_cmd(ctx, as_json: bool) -> None:
    """Show each service: state, readiness, restarts, uptime, memory."""
    from lorapilot.stack.services import get_manager

    statuses = get_manager(ctx).status()
    if as_json:
        click.echo(json.dumps([s.model_dump() for s in statuses], indent=2))
        return
    click.echo(STATUS_HEADER)
    for s in statuses:
        click.echo(status_row(s))


STATUS_HEADER = f"{'SERVICE':<14} {'STATE':<14} {'READY':<6} {'PORT':>5} {'RESTARTS':>8} {'UPTIME':>8} {'MEMORY':>10}"


def status_row(s) -> str:
    """One service under :data:`STATUS_HEADER`: every row has every column ("-" when unknown)."""
    port = str(s.port) if s.port else "-"  # a post-start task has none
    if s.state == "not_installed":
        return f"{s.name:<14} {'not installed':<14} {'-':<6} {port:>5} {'-':>8} {'-':>8} {'-':>10}   install: {s.install_hint}"
    ready = {True: "yes", False: "no", None: "-"}[s.ready]
    return (
        f"{s.name:<14} {s.state:<14} {ready:<6} {port:>5} {s.restarts:>8} "
        f"{format_duration(s.uptime_s):>8} {format_bytes(s.memory_bytes):>10}"
    )


def _service_action(verb: str):
    @click.command(verb, help=f"{verb.capitalize()} one service.")
    @click.argument("name")
    @workspace_option
    def command(ctx, name: str) -> None:
        from lorapilot.stack.services import get_manager

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
    from lorapilot.kit.logtail import read_from, tail_and_offset
    from lorapilot.stack.services import get_manager

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

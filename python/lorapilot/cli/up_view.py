"""The terminal view of a foreground ``lorapilot up`` under supervisord (process-compose has its own TUI).

Live (rich) on a terminal: each service's state, readiness and URL, the address other machines use,
where the password is and how to stop. Elsewhere (a log, a container): the same, printed once.
Ctrl-C or SIGTERM stops supervisord, which stops every service; this returns its exit status.
"""

from __future__ import annotations

import signal
import subprocess
import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lorapilot.stack.addresses import login_secret, reach_note
from lorapilot.stack.context import Context

REFRESH_S = 1.0
STATE_STYLE = {
    "running": "green",
    "starting": "yellow",
    "stopping": "yellow",
    "failed": "red",
    "exited": "red",
    "not_installed": "dim",
    "disabled": "dim",
    "stopped": "dim",
    "unknown": "dim",
}


def _host(ctx: Context) -> str:
    host = ctx.settings.host
    return "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host


def _statuses(ctx: Context) -> dict:
    from lorapilot.kit.errors import LorapilotError
    from lorapilot.stack.services import get_manager

    try:
        return {s.name: s for s in get_manager(ctx).status()}
    except LorapilotError:  # supervisord is still starting
        return {}


def render(ctx: Context, statuses: dict, backend: str, stopping: bool = False) -> Group:
    """The whole view: a table of services and the lines that say how to reach, log in and stop."""
    host = _host(ctx)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("service", "state", "ready", "URL"):
        table.add_column(column)
    secrets = []
    for plan in ctx.plan(False):
        if plan.oneshot:
            continue
        status = statuses.get(plan.name)
        state = "not_installed" if not plan.installed else status.state if status else "starting"
        ready = "-" if status is None or status.ready is None else "yes" if status.ready else "not yet"
        url = plan.open_url(host) if plan.installed else f"install: {plan.install_hint}"
        table.add_row(plan.title, Text(state.replace("_", " "), style=STATE_STYLE.get(state, "")), ready, url)
        secret = login_secret(plan)
        if secret and plan.installed:
            secrets.append(f"{plan.title}: lorapilot secrets show {secret}")
    lines = [
        Text(f"LoRA Pilot: {ctx.workspace.root} ({backend})", style="bold"),
        table,
        Text(""),
        Text(reach_note(ctx.settings.host)),
        Text(f"passwords and tokens: {ctx.workspace.secrets_file} ({'; '.join(secrets) or 'lorapilot secrets show'})"),
        Text(f"logs: {ctx.workspace.logs}/ (lorapilot logs NAME)"),
        Text(
            "stopping every service…"
            if stopping
            else "Ctrl-C stops everything (or `lorapilot down` from another terminal)",
            style="yellow" if stopping else "dim",
        ),
    ]
    return Group(*lines)


def watch_foreground(
    ctx: Context,
    child: subprocess.Popen,
    backend: str = "supervisord",
    console: Console | None = None,
    live: bool = True,
) -> int:
    """Show the services until ``child`` (the process manager) ends; Ctrl-C / SIGTERM stop it first.
    ``live=False`` (``up --no-tui``) prints the view once, as when the output is not a terminal."""
    console = console or Console()
    stopping = False

    def stop(*_):
        nonlocal stopping
        if not stopping and child.poll() is None:
            stopping = True
            child.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        if not (live and console.is_terminal):
            _wait_plain(ctx, child, backend, console, stop)
        else:
            with Live(render(ctx, {}, backend), console=console, refresh_per_second=4, transient=False) as view:
                while child.poll() is None:
                    try:
                        view.update(render(ctx, _statuses(ctx), backend, stopping))
                        time.sleep(REFRESH_S)
                    except KeyboardInterrupt:
                        stop()
                view.update(render(ctx, {}, backend, stopping=True))
    except KeyboardInterrupt:  # Ctrl-C between two looks: stop all the same
        stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
    code = child.wait()
    if code != 0 and not stopping:
        console.print(
            f"[red]{backend} ended with exit status {code}[/red]; see {ctx.workspace.logs / 'supervisord.log'} "
            f"and {ctx.workspace.logs / 'supervisord.console.log'}"
        )
    return code


def _wait_plain(ctx: Context, child: subprocess.Popen, backend: str, console: Console, stop) -> None:
    """Not a terminal: the view once, when the services have had a moment, then wait."""
    deadline = time.monotonic() + 20
    statuses: dict = {}
    while child.poll() is None and time.monotonic() < deadline:
        statuses = _statuses(ctx)
        if statuses and all(s.state != "starting" for s in statuses.values()):
            break
        time.sleep(0.5)
    console.print(render(ctx, statuses, backend))
    while child.poll() is None:
        try:
            time.sleep(0.5)
        except KeyboardInterrupt:
            stop()

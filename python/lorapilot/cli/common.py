"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

import functools

import click

from lorapilot.context import Context, load_context


def workspace_option(func):
    """Add ``--workspace`` and pass a loaded :class:`Context` as ``ctx``."""

    @click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=True, dir_okay=True),
        envvar="LORAPILOT_WORKSPACE",
        help="Workspace root (default: $LORAPILOT_WORKSPACE, /workspace if writable, else ~/lorapilot).",
    )
    @functools.wraps(func)
    def wrapper(*args, workspace=None, **kwargs):
        return func(*args, ctx=load_context(workspace), **kwargs)

    return wrapper


def format_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def public_host(ctx: Context) -> str:
    """The host name to print in URLs."""
    host = ctx.settings.host
    return "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host

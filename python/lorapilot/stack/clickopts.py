"""Click options and formatters shared by every command line (the shells' and each tool's)."""

from __future__ import annotations

import functools

import click

from lorapilot.stack.context import load_context


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
    """``1536`` -> ``'1.5 KiB'``; ``None`` -> ``'-'``."""
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def format_duration(seconds: float | None) -> str:
    """``3725`` -> ``'1h02m'``; ``None`` -> ``'-'``."""
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

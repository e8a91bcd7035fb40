"""Click options and formatters shared by every command line (the shells' and each tool's)."""

from __future__ import annotations

import functools
import inspect
import re

import click

from lorapilot.stack.context import load_context

_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z`])")


def summary_of(help_text: str | None) -> str:
    """A command's one-line summary for listings: its first sentence, whole (never cut mid-word)."""
    paragraph = inspect.cleandoc(help_text or "").split("\n\n")[0].replace("\n", " ").strip()
    match = _SENTENCE_END.search(paragraph)
    return paragraph[: match.start() + 1] if match else paragraph


class FullHelpGroup(click.Group):
    """A group whose command list shows each command's whole first sentence, wrapped rather than cut
    with "..." (click's default cuts at about 45 characters). Its sub-groups use this class too."""

    group_class = type

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.short_help or summary_of(cmd.help)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def workspace_option(func):
    """Add ``--workspace`` and pass a loaded :class:`Context` as ``ctx``."""

    @click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=True, dir_okay=True),
        help="Workspace root (default: $LORAPILOT_WORKSPACE, /workspace if writable, else ~/lorapilot).",
    )
    @functools.wraps(func)
    def wrapper(*args, workspace=None, **kwargs):
        if workspace is None:  # `lorapilot -w DIR status`: the option given before the sub-command
            root = click.get_current_context(silent=True)
            workspace = root.find_root().params.get("workspace") if root is not None else None
        # resolve_root reads $LORAPILOT_WORKSPACE after both options
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

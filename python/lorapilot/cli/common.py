"""Options and helpers shared by the CLI's own commands (the tools' share ``stack.clickopts``)."""

from __future__ import annotations

from lorapilot.stack.clickopts import format_bytes, format_duration, workspace_option
from lorapilot.stack.context import Context

__all__ = ["format_bytes", "format_duration", "public_host", "workspace_option"]


def public_host(ctx: Context) -> str:
    """The host name to print in URLs."""
    host = ctx.settings.host
    return "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host

"""The models tool's hooks, called by the shells through ``lorapilot.tools.TOOLS``."""

from __future__ import annotations

from pathlib import Path

from lorapilot.tools.models.manifest import ensure_manifest


def on_init(ctx) -> list[tuple[Path, str]]:
    """``lorapilot init`` / ``up``: write the default models manifest once (never over the user's)."""
    return [ensure_manifest(ctx.workspace)]

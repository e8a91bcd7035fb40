"""A real workspace with its MediaPilot library, for MediaPilot tests."""

from __future__ import annotations

from pathlib import Path

from lorapilot.stack.workspace.layout import ensure_layout
from lorapilot.tools.mediapilot.library import MediaLibrary
from support.workspaces import make_workspace


def make_library(tmp_path: Path, media: dict | None = None, enabled: set[str] | None = None):
    """(context, library) over a fresh workspace; ``media`` is the ``[mediapilot]`` settings section."""
    ctx = make_workspace(
        tmp_path / "ws",
        enabled=enabled if enabled is not None else set(),
        settings={"mediapilot": media} if media else None,
    )
    ensure_layout(ctx.workspace)
    return ctx, MediaLibrary.open(ctx)


def row_by_name(lib: MediaLibrary, name: str):
    row = lib.index.read().execute("SELECT * FROM media WHERE name = ?", (name,)).fetchone()
    assert row is not None, f"{name} is not indexed"
    return row

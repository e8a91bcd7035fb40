"""The tools floor: models, TagPilot, TrainPilot, MediaPilot, Copilot.

Each tool is one package that imports only the kit and the stack. The shells (the CLI and
ControlPilot) find every tool through :data:`TOOLS` and nothing else: the CLI adds each
tool's click group, ControlPilot mounts each tool's router, and both call each tool's hooks.
See docs/architecture.md ("Adding a tool").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Tool:
    """One tool's contract with the shells. Targets are ``"module:attribute"`` strings,
    imported on first use so that ``lorapilot --help`` stays fast."""

    name: str  # the CLI group, its URL prefix /api/<name>, its settings section and its web page /<name>
    title: str
    cli: str  # its click group
    router: str  # its FastAPI APIRouter (mounted behind login)
    summary: str = ""  # the group's one-line help, so `lorapilot --help` lists it without importing it
    hooks: str | None = None  # module with optional on_init(ctx) and on_down(ctx, keep_training)
    cli_aliases: tuple[str, ...] = field(default=())  # old command names, kept working for one release
    # (old URL prefix, new URL prefix) pairs: ControlPilot serves the old ones for one release
    url_aliases: tuple[tuple[str, str], ...] = field(default=())

    def load_cli(self):
        """The tool's click group."""
        return _load(self.cli)

    def load_router(self):
        """The tool's APIRouter."""
        return _load(self.router)

    def hook(self, name: str):
        """The tool's hook function ``name``, or None when it has none."""
        if self.hooks is None:
            return None
        return getattr(importlib.import_module(self.hooks), name, None)


TOOLS: tuple[Tool, ...] = (
    Tool(
        "models",
        "Models",
        "lorapilot.tools.models.cli:models_group",
        "lorapilot.tools.models.api:router",
        summary="The shared model store: list, inspect, pull, move, rename, delete, restore.",
        hooks="lorapilot.tools.models.hooks",
    ),
    Tool(
        "tagpilot",
        "TagPilot",
        "lorapilot.tools.tagpilot.cli:dataset_group",
        "lorapilot.tools.tagpilot.api:router",
        summary="TagPilot: import, caption, tag, check and export datasets (datasets/<name>/).",
        cli_aliases=("dataset",),
        url_aliases=(("/api/datasets", "/api/tagpilot/datasets"),),
    ),
    Tool(
        "trainpilot",
        "TrainPilot",
        "lorapilot.tools.trainpilot.cli:train_group",
        "lorapilot.tools.trainpilot.api:router",
        summary="TrainPilot: train LoRAs with Kohya, AI Toolkit, Diffusion Pipe or the native trainer, one queue.",
        hooks="lorapilot.tools.trainpilot.hooks",
        cli_aliases=("train",),
        url_aliases=(("/api/train", "/api/trainpilot"),),
    ),
    Tool(
        "mediapilot",
        "MediaPilot",
        "lorapilot.tools.mediapilot.cli:media_group",
        "lorapilot.tools.mediapilot.api:router",
        summary="MediaPilot: index, search and organise everything generated (outputs/ + extra roots).",
        cli_aliases=("media",),
        url_aliases=(("/api/media", "/api/mediapilot"),),
    ),
    Tool(
        "copilot",
        "Copilot",
        "lorapilot.tools.copilot.cli:copilot_group",
        "lorapilot.tools.copilot.proxy:router",
        summary="The Copilot sidecar: GitHub Copilot CLI confined to the workspace (port 7879, loopback only).",
    ),
    Tool(
        "sync",
        "Sync",
        "lorapilot.tools.sync.cli:sync_group",
        "lorapilot.tools.sync.api:router",
        summary="Sync LoRAs, datasets, outputs and the TrainPilot database with S3-compatible storage.",
    ),
)


def _load(target: str) -> Any:
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def tool(name: str) -> Tool:
    """The tool called ``name`` (KeyError for an unknown one)."""
    for candidate in TOOLS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def run_on_init(ctx) -> list[tuple[Path, str]]:
    """Each tool's ``on_init(ctx)``: files it wrote into a new or updated workspace."""
    written: list[tuple[Path, str]] = []
    for each in TOOLS:
        hook = each.hook("on_init")
        if hook is not None:
            written.extend(hook(ctx))
    return written


def run_on_down(ctx, keep_training: bool) -> list[str]:
    """Each tool's ``on_down(ctx, keep_training)`` after the services stopped: lines to tell the user."""
    lines: list[str] = []
    for each in TOOLS:
        hook = each.hook("on_down")
        if hook is not None:
            lines.extend(hook(ctx, keep_training))
    return lines

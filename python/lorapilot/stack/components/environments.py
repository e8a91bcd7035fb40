"""Environments that are not services: ``components/<name>/environment.toml``.

A trainer such as Diffusion Pipe has a pinned source and its own Python
environment, but no process of its own: TrainPilot launches it. Nix builds it
like a component (see nix/pins.nix) and ``lorapilot install`` installs it the
same way; the registry of services does not list it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.models import FrozenModel
from lorapilot.kit.tomlconfig import read_toml, validate_model
from lorapilot.stack.components.registry import default_components_dir
from lorapilot.stack.components.spec import _NAME_RE, Source

ENVIRONMENT_FILENAME = "environment.toml"


class EnvironmentSpec(FrozenModel):
    """One environment.toml."""

    name: str = Field(pattern=_NAME_RE.pattern)
    title: str
    description: str
    kind: Literal["trainer"]
    source: Source


def load_environments(components_dir: Path | None = None) -> dict[str, tuple[EnvironmentSpec, Path]]:
    """Every ``*/environment.toml`` under ``components_dir``: name -> (spec, path)."""
    components_dir = components_dir or default_components_dir()
    found: dict[str, tuple[EnvironmentSpec, Path]] = {}
    for path in sorted(components_dir.glob(f"*/{ENVIRONMENT_FILENAME}")):
        spec = validate_model(path, EnvironmentSpec, read_toml(path))
        if spec.name != path.parent.name:
            raise ConfigError(path, f"name: {spec.name!r} must match its folder name {path.parent.name!r}")
        found[spec.name] = (spec, path)
    return found

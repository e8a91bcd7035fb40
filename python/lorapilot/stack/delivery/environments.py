"""The locked environments of a checkout: each component's, and LoRA Pilot's own training one."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.errors import ConfigError
from lorapilot.stack.delivery.locks import LockedPackage, environment_packages


@dataclass(frozen=True)
class LockedEnvironment:
    name: str
    project: Path
    extras: list[str] | None = None  # the root project's extras; None: all

    def packages(self, python: str, machine: str = "x86_64") -> list[LockedPackage]:
        return environment_packages(self.project, python, machine, self.extras)


def stack_python(repo: Path) -> str:
    return tomllib.loads((repo / "components" / "stack.toml").read_text())["python"]


def locked_environments(repo: Path) -> dict[str, LockedEnvironment]:
    """name -> environment: ``components/*/uv.lock`` and ``lorapilot-train`` (the root lock, train + cuda)."""
    envs = {
        p.parent.name: LockedEnvironment(p.parent.name, p.parent)
        for p in sorted((repo / "components").glob("*/uv.lock"))
    }
    envs["lorapilot-train"] = LockedEnvironment("lorapilot-train", repo, ["train", "cuda"])
    return envs


def select(envs: dict[str, LockedEnvironment], names: list[str]) -> list[LockedEnvironment]:
    """The named environments (all when ``names`` is empty); an unknown name is a clear error."""
    unknown = [n for n in names if n not in envs]
    if unknown:
        raise ConfigError(None, f"unknown environment {', '.join(unknown)}; known: {', '.join(envs)}")
    return [envs[n] for n in names] if names else list(envs.values())

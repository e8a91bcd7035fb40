"""Where each component's environment and source live.

Nix writes a manifest (``LORAPILOT_MANIFEST``): ``{"components": {name: {"env":
path, "src": path}}}``. Without Nix, ``lorapilot install`` puts them under
``apps/<name>/.venv`` and ``apps/<name>/src``, which is also the default here.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.errors import ConfigError

MANIFEST_ENV = "LORAPILOT_MANIFEST"


@dataclass(frozen=True)
class ComponentLocation:
    env: Path | None = None
    src: Path | None = None


@dataclass(frozen=True)
class Manifest:
    """Component locations, plus the interpreter that has lorapilot."""

    components: dict[str, ComponentLocation]
    lorapilot_python: Path
    path: Path | None = None

    def location(self, name: str) -> ComponentLocation:
        return self.components.get(name, ComponentLocation())


def load_manifest(path: str | os.PathLike | None = None) -> Manifest:
    """Read the manifest named by ``path`` or ``LORAPILOT_MANIFEST``; none means defaults."""
    path = path or os.environ.get(MANIFEST_ENV)
    default_python = Path(sys.executable)
    if not path:
        return Manifest(components={}, lorapilot_python=default_python)
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, f"component manifest not found (set by {MANIFEST_ENV})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"component manifest is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("components", {}), dict):
        raise ConfigError(path, "components: expected an object of {name: {env, src}}")
    components = {}
    for name, entry in data.get("components", {}).items():
        if not isinstance(entry, dict) or set(entry) - {"env", "src"}:
            raise ConfigError(path, f"components.{name}: expected an object with 'env' and/or 'src'")
        components[name] = ComponentLocation(
            env=Path(entry["env"]) if entry.get("env") else None,
            src=Path(entry["src"]) if entry.get("src") else None,
        )
    python = data.get("lorapilot_python")
    return Manifest(
        components=components,
        lorapilot_python=Path(python) if python else default_python,
        path=path,
    )

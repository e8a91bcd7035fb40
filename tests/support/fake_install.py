"""A workspace whose every component looks installed, at stable paths, for render tests."""

from __future__ import annotations

from pathlib import Path

from lorapilot.stack.component_paths import ComponentLocation, Manifest
from lorapilot.stack.components import load_registry
from lorapilot.stack.context import Context
from lorapilot.stack.workspace.layout import Workspace

EXECUTABLES = {
    "comfyui": ["bin/python"],
    "kohya": ["bin/python"],
    "invokeai": ["bin/invokeai-web"],
    "tensorboard": ["bin/tensorboard"],
    "jupyterlab": ["bin/jupyter"],
    "code-server": ["bin/code-server"],
}


def _executable(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)


def installed_context(root: Path) -> Context:
    """Fake Nix-like env and src trees under ``root/store`` for every component."""
    store = root / "store"
    components = {}
    for comp in load_registry():
        env = store / f"{comp.name}-env"
        src = store / f"{comp.name}-src"
        (src / "ui" / "node_modules" / ".bin").mkdir(parents=True, exist_ok=True)
        for rel in EXECUTABLES.get(comp.name, []):
            _executable(env / rel)
        components[comp.name] = ComponentLocation(env=env, src=src)
    _executable(store / "ai-toolkit-src" / "ui" / "node_modules" / ".bin" / "concurrently")
    python = store / "lorapilot-env" / "bin" / "python"
    _executable(python)
    return Context(
        workspace=Workspace(root / "workspace"), manifest=Manifest(components=components, lorapilot_python=python)
    )

"""Build real temporary workspaces with free ports, so tests never collide."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import tomli_w

from lorapilot.stack.component_paths import load_manifest
from lorapilot.stack.components import load_registry
from lorapilot.stack.context import Context
from lorapilot.stack.workspace.layout import Workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"
VENV = Path(sys.prefix)


def free_port(taken: set[int] | None = None) -> int:
    """A TCP port that is free on loopback right now (and not in ``taken``, which it joins)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if taken is None:
            return port
        if port not in taken:  # the kernel may hand a just-closed port out again
            taken.add(port)
            return port


def make_workspace(
    root: Path,
    enabled: set[str] | None = None,
    manifest: dict | None = None,
    settings: dict | None = None,
) -> Context:
    """A workspace under ``root`` with every port free and loopback-only services.

    ``enabled``: the components to keep enabled (default: all). ``manifest``:
    component -> {env, src}; TensorBoard defaults to this test environment.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "config").mkdir(exist_ok=True)
    names = load_registry().names()
    taken: set[int] = set()  # two components given one port made a rare "collides" failure
    data: dict = {
        "host": "127.0.0.1",
        "manager": {"port": free_port(taken)},
        "components": {},
        # No automatic test grid unless a test asks: rendering one after every tiny training run costs the
        # suite minutes of CPU for nothing the test looks at.
        "trainpilot": {"grid_after_training": "never"},
    }
    for name in names:
        entry: dict = {"port": free_port(taken)}
        if enabled is not None and name not in enabled:
            entry["enabled"] = False
        data["components"][name] = entry
    for key, value in (settings or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    (root / "config" / "lorapilot.toml").write_text(tomli_w.dumps(data))
    man = {"components": {"tensorboard": {"env": str(VENV)}}}
    man["components"].update(manifest or {})
    manifest_path = root / "manifest.json"
    manifest_path.write_text(json.dumps(man))
    return Context(workspace=Workspace(root), manifest=load_manifest(manifest_path))

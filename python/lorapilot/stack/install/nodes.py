"""``lorapilot install comfyui``: put the pinned custom nodes (``custom-nodes.toml``) in ComfyUI's
``custom_nodes/``, each refused when its requirements conflict with the component's ``uv.lock``."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from lorapilot.kit.errors import ConfigError
from lorapilot.stack.components.custom_nodes import ensure_fits, load_custom_nodes, locked_versions, requirement_lines

from .git import fetch_commit, head_of

NODES_FILE = "custom-nodes.toml"


def place_pinned_nodes(
    git: str,
    component_folder: Path,
    custom_nodes: Path,
    on_line: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[str]:
    """Check out each pinned node at its rev into ``custom_nodes/<name>``; returns what was done.

    A node is fetched into a temporary folder and checked against the lock before it is renamed into
    place, so a conflicting node never lands (the error names the package). A node already at its rev is kept.
    """
    nodes_file = component_folder / NODES_FILE
    if not nodes_file.is_file():
        return []
    nodes = load_custom_nodes(nodes_file)
    locked = locked_versions(component_folder / "uv.lock")
    custom_nodes.mkdir(parents=True, exist_ok=True)
    done = []
    for node in nodes:
        dest = custom_nodes / node.name
        if head_of(dest) == node.rev:
            done.append(f"kept custom node {node.name} at {node.rev[:12]}")
            continue
        staging = Path(tempfile.mkdtemp(prefix=f".{node.name}-", dir=custom_nodes))
        try:
            fetch_commit(git, node.repository, node.rev, staging, on_line, cancel)
            found = requirement_lines(staging)
            if node.requirements is not None and found != node.requirements:
                raise ConfigError(
                    nodes_file,
                    f"{node.name}: requirements = {node.requirements} but its requirements.txt at "
                    f"{node.rev[:12]} says {found}; record what the node needs (and lock it)",
                )
            check = ensure_fits(staging, locked, node.name)
            if dest.exists():
                shutil.rmtree(dest)  # a pinned node at another rev: ours, replaced by the new pin
            staging.rename(dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        extra = f"; not in the lock: {', '.join(check.missing)}" if check.missing else ""
        done.append(f"placed custom node {node.name} at {node.rev[:12]}{extra}")
    return done

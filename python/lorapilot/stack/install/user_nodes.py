"""A user's own ComfyUI nodes in the workspace (``apps/comfyui/custom_nodes/``): list, add, remove.

``add`` takes a git repository (URL or local path, at a rev) or a plain folder, checks its ``requirements.txt``
against ComfyUI's lock (a conflict is refused, naming the package), installs what the pinned environment lacks
into the overlay (``stack.install.overlay``) and only then renames the node into place, so a refused or failed
node never lands half-installed. ``remove`` moves the node to the workspace trash (restorable); the overlay
keeps its packages (another node may use them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.progress import Progress, no_progress
from lorapilot.kit.trash import Trash, TrashItem
from lorapilot.stack.components.custom_nodes import ensure_fits, locked_versions, overlay_dir, user_nodes_dir
from lorapilot.stack.install.git import head_of
from lorapilot.stack.install.overlay import install_into_overlay
from lorapilot.stack.install.tools import run

NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class UserNode:
    """One node folder in ``apps/comfyui/custom_nodes/``."""

    name: str
    path: Path
    origin: str | None  # the git remote it came from, None for a plain folder
    rev: str | None
    requirements: list[str]


@dataclass(frozen=True)
class AddedNode:
    node: UserNode
    locked_checked: list[str]  # requirements the lock already satisfies
    overlay_installed: list[str]  # name==version put in the overlay


def _git_origin(path: Path) -> str | None:
    if not (path / ".git").exists():
        return None
    out = subprocess.run(["git", "-C", str(path), "remote", "get-url", "origin"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def _requirements(path: Path) -> list[str]:
    file = path / "requirements.txt"
    if not file.is_file():
        return []
    return [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def list_user_nodes(comfy_state: Path) -> list[UserNode]:
    """The node folders (and single-file ``.py`` nodes) a user has in the workspace, by name."""
    folder = user_nodes_dir(comfy_state)
    if not folder.is_dir():
        return []
    nodes = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if path.name.startswith(".") or path.name == "__pycache__":
            continue
        if path.is_dir():
            nodes.append(UserNode(path.name, path, _git_origin(path), head_of(path), _requirements(path)))
        elif path.suffix == ".py":
            nodes.append(UserNode(path.stem, path, None, None, []))
    return nodes


def _node_name(source: str, name: str | None) -> str:
    chosen = name or re.sub(r"\.git$", "", source.rstrip("/").rsplit("/", 1)[-1])
    if not NODE_NAME.match(chosen):
        raise LorapilotError(f"node name {chosen!r}: use letters, digits, '.', '_' and '-' (pass --name)")
    return chosen


def _fetch(git: str, source: str, rev: str | None, staging: Path, on_line, cancel) -> None:
    """Put ``source`` (git URL or path, or a plain folder) into ``staging`` (which must not exist)."""
    local = Path(source).expanduser()
    if local.is_dir() and not (local / ".git").exists():
        if rev:
            raise LorapilotError(f"{source} is a plain folder, not a git repository: --rev does not apply")
        shutil.copytree(local, staging, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        return
    url = str(local.resolve()) if local.is_dir() else source
    quiet = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    run(
        [git, "clone", "--progress", "--quiet", url, str(staging)],
        doing=f"cloning {source}",
        env=quiet,
        on_line=on_line,
        cancel=cancel,
        network=source,
    )
    if rev:
        run(
            [git, "-C", str(staging), "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", rev],
            doing=f"checking out {rev} of {source} (is the rev in that repository?)",
        )


def add_user_node(
    comfy_state: Path,
    source: str,
    *,
    git: str,
    uv: str,
    python: Path,
    lock: Path,
    rev: str | None = None,
    name: str | None = None,
    find_links: tuple[str, ...] = (),
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> AddedNode:
    """Add the node at ``source`` to the workspace, its packages to the overlay (see the module docstring)."""
    node_name = _node_name(source, name)
    folder = user_nodes_dir(comfy_state)
    dest = folder / node_name
    if dest.exists() or dest.is_symlink():
        raise ConflictError(f"{dest} exists: remove it first (`lorapilot comfyui nodes remove {node_name}`)")
    folder.mkdir(parents=True, exist_ok=True)
    # Staged beside the state (same file system, for the rename) but outside custom_nodes/, where ComfyUI looks.
    tmp = Path(tempfile.mkdtemp(prefix=f".node-{node_name}-", dir=comfy_state))
    staging = tmp / node_name
    total = 4
    try:
        progress(0, total, f"fetching {source}")
        _fetch(git, source, rev, staging, lambda line: progress(0, total, f"fetching: {line[:100]}"), cancel)
        progress(1, total, f"checking {node_name}'s requirements against {lock}")
        check = ensure_fits(staging, locked_versions(lock), node_name)
        progress(2, total, "installing into the overlay")
        installed = install_into_overlay(
            uv,
            python,
            overlay_dir(comfy_state),
            _requirements(staging),
            source=f"{node_name}/requirements.txt",
            find_links=find_links,
            on_line=lambda line: progress(2, total, f"overlay: {line[:100]}"),
            cancel=cancel,
        )
        progress(3, total, f"placing {dest}")
        staging.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    progress(total, total, "done")
    node = UserNode(node_name, dest, _git_origin(dest), head_of(dest), _requirements(dest))
    return AddedNode(node, check.satisfied, installed)


def remove_user_node(workspace_root: Path, comfy_state: Path, name: str) -> TrashItem:
    """Move the node ``name`` to the workspace trash (``lorapilot trash restore`` puts it back)."""
    for node in list_user_nodes(comfy_state):
        if node.name == name:
            return Trash(workspace_root).move(node.path, source="comfyui")
    raise NotFoundError(f"no node {name!r} in {user_nodes_dir(comfy_state)}")

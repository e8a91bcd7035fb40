"""ComfyUI custom nodes: the pinned list (``components/comfyui/custom-nodes.toml``), the check that a node's
requirements fit ComfyUI's locked environment, and the workspace folders for nodes a user adds at run time.

Pinned nodes are inputs like a component's source (repository, rev, NAR hash). A user's nodes live in
``apps/comfyui/custom_nodes/`` (ComfyUI loads them through ``extra_model_paths.yaml``'s ``custom_nodes``) and
their packages in ``apps/comfyui/overlay/`` (on ComfyUI's ``PYTHONPATH``): both survive an image update and
never change the pinned environment.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from lorapilot.kit.errors import ConfigError, ConflictError


class CustomNode(BaseModel, extra="forbid"):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # the folder under custom_nodes/
    # GitHub for the image (Nix fetches it by hash); a local file:// repository for offline installs and tests.
    repository: str = Field(pattern=r"^(https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+|file:///\S+)$")
    rev: str = Field(pattern=r"^[0-9a-f]{40}$")
    hash: str = Field(pattern=r"^sha256-[A-Za-z0-9+/]{43}=$")
    # The node's requirements.txt at rev, recorded so the lock can be checked against it offline (tests);
    # `lorapilot install` refuses a checkout whose requirements.txt says otherwise.
    requirements: list[str] | None = None


def load_custom_nodes(path: Path) -> list[CustomNode]:
    """The ``[[node]]`` entries of ``path``; a clear error naming the entry and field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(path, f"cannot read: {exc}") from exc
    nodes = []
    for index, entry in enumerate(data.get("node", [])):
        try:
            nodes.append(CustomNode.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(path, f"node[{index}].{where}: {first['msg']} (got {first.get('input')!r})") from None
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise ConfigError(path, f"a node name appears twice: {sorted(n for n in names if names.count(n) > 1)}")
    return nodes


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path) -> dict[str, str]:
    """Package name (canonical) → version pinned in a ``uv.lock``."""
    try:
        data = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(lock, f"cannot read the lock: {exc}") from exc
    return {canonical(p["name"]): p["version"] for p in data.get("package", []) if "version" in p}


@dataclass(frozen=True)
class RequirementCheck:
    """A node's requirements against the locked environment."""

    conflicts: list[str]  # "torch>=3 (locked: torch 2.6.0)"
    satisfied: list[str]  # already in the lock at a fitting version
    missing: list[str]  # not in the lock: a pinned node needs them locked; a user's node gets them in the overlay


def check_requirements(lines: list[str], locked: dict[str, str], source: str = "requirements.txt") -> RequirementCheck:
    """Sort ``requirements.txt`` lines into conflicts, satisfied and missing (environment markers honoured)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    conflicts: list[str] = []
    satisfied: list[str] = []
    missing: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):  # -r, --extra-index-url ...: a node must list its packages plainly
            raise ConfigError(None, f"{source}:{number}: option lines are not supported here: {line!r}")
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise ConfigError(None, f"{source}:{number}: not a requirement: {line!r} ({exc})") from None
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = locked.get(canonical(req.name))
        if version is None:
            missing.append(str(req))
            continue
        try:
            fits = req.specifier.contains(Version(version), prereleases=True)
        except InvalidVersion:
            fits = False
        (satisfied if fits else conflicts).append(str(req) if fits else f"{req} (locked: {req.name} {version})")
    return RequirementCheck(conflicts, satisfied, missing)


def requirement_lines(node_dir: Path) -> list[str]:
    """The requirement lines of ``node_dir/requirements.txt`` (comments and blanks left out)."""
    req_file = node_dir / "requirements.txt"
    if not req_file.is_file():
        return []
    lines = (line.split(" #", 1)[0].strip() for line in req_file.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ensure_fits(node_dir: Path, locked: dict[str, str], name: str | None = None) -> RequirementCheck:
    """Check ``node_dir/requirements.txt`` (if any); refuse a node that conflicts, naming the package."""
    req_file = node_dir / "requirements.txt"
    if not req_file.is_file():
        return RequirementCheck([], [], [])
    result = check_requirements(req_file.read_text(encoding="utf-8").splitlines(), locked, str(req_file))
    if result.conflicts:
        raise ConflictError(
            f"custom node {name or node_dir.name} conflicts with ComfyUI's locked environment: "
            + "; ".join(result.conflicts)
        )
    return result


def user_nodes_dir(comfy_state: Path) -> Path:
    """Where a user's own nodes live (``apps/comfyui/custom_nodes/``)."""
    return comfy_state / "custom_nodes"


def overlay_dir(comfy_state: Path) -> Path:
    """Where their packages go (``apps/comfyui/overlay/``), on ComfyUI's PYTHONPATH."""
    return comfy_state / "overlay"


def overlay_install_command(
    uv: str, python: Path, comfy_state: Path, packages: list[str], lock_constraints: Path
) -> list[str]:
    """The ``uv pip install`` that puts a user's node packages in the overlay, constrained to the lock's versions
    (so nothing the pinned environment has is replaced)."""
    return [
        uv,
        "pip",
        "install",
        "--python",
        str(python),
        "--target",
        str(overlay_dir(comfy_state)),
        "--constraint",
        str(lock_constraints),
        *packages,
    ]

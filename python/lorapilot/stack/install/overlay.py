"""The per-workspace package overlay of ComfyUI (``apps/comfyui/overlay/``): what a user's own nodes need on top of
the pinned environment, never inside it.

Only what the pinned environment lacks goes there. The node's requirements are resolved with every package the
pinned environment (and the overlay) already has as a constraint, so nothing there is replaced or shadowed; then
only the new packages are installed into the overlay, without their dependencies (already resolved).
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from lorapilot.kit.errors import ConflictError, LorapilotError
from lorapilot.stack.components.custom_nodes import canonical, check_requirements
from lorapilot.stack.install.tools import run

# Run with -I (isolated): the overlay on PYTHONPATH and the caller's folder must not count as the pinned env.
_LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, json\n"
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions() if d.metadata['Name']}))"
)


def pinned_packages(python: Path) -> dict[str, str]:
    """Package (canonical name) → version installed in the environment of ``python``."""
    try:
        out = subprocess.run(
            [str(python), "-I", "-c", _LIST_DISTRIBUTIONS], capture_output=True, text=True, timeout=120
        )
    except OSError as exc:
        raise LorapilotError(f"cannot run ComfyUI's Python {python}: {exc} (is ComfyUI installed?)") from exc
    if out.returncode != 0:
        raise LorapilotError(f"cannot list the packages of {python}: {out.stderr.strip()[-500:]}")
    return {canonical(name): version for name, version in json.loads(out.stdout).items()}


def overlay_packages(overlay: Path) -> dict[str, str]:
    """Package (canonical name) → version installed in the overlay folder."""
    found = {}
    for dist in importlib.metadata.distributions(path=[str(overlay)]):
        name = dist.metadata["Name"]
        if name:
            found[canonical(name)] = dist.version
    return found


def _pins(lines: list[str]) -> list[str]:
    """``name==version`` lines of a ``uv pip compile`` output."""
    return [line.split(" ", 1)[0] for line in lines if "==" in line and not line.lstrip().startswith(("#", "-"))]


def install_into_overlay(
    uv: str,
    python: Path,
    overlay: Path,
    requirements: list[str],
    *,
    source: str = "requirements.txt",
    find_links: tuple[str, ...] = (),
    on_line: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[str]:
    """Install what ``requirements`` need beyond the pinned environment into ``overlay``; returns the
    ``name==version`` installed there (empty when the pinned environment and the overlay already have it all).

    A requirement the pinned environment holds at another version is refused, naming the package; a conflict
    further down the dependency tree is refused with uv's explanation.
    """
    pinned = pinned_packages(python)
    present = overlay_packages(overlay)
    check = check_requirements(requirements, pinned, source)
    if check.conflicts:
        raise ConflictError(f"{source} conflicts with ComfyUI's pinned environment: " + "; ".join(check.conflicts))
    unmet = check_requirements(check.missing, present, source)
    if unmet.conflicts:
        raise ConflictError(f"{source} conflicts with the overlay's packages: " + "; ".join(unmet.conflicts))
    wanted = unmet.missing
    if not wanted:
        return []
    links = [arg for folder in find_links for arg in ("--find-links", folder)]
    overlay.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lorapilot-overlay-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text(
            "".join(f"{name}=={version}\n" for name, version in {**present, **pinned}.items()), encoding="utf-8"
        )
        wanted_file = Path(tmp) / "requirements.in"
        wanted_file.write_text("\n".join(wanted) + "\n", encoding="utf-8")
        resolved = Path(tmp) / "resolved.txt"
        run(
            [uv, "pip", "compile", "--python", str(python), "--constraint", str(constraints)]
            + ["--no-header", "--no-annotate", "--output-file", str(resolved), str(wanted_file), *links],
            doing=f"resolving {', '.join(wanted)} on top of ComfyUI's pinned environment",
            on_line=on_line,
            cancel=cancel,
            network="the package index",
        )
        new = [
            pin
            for pin in _pins(resolved.read_text(encoding="utf-8").splitlines())
            if canonical(pin.split("==", 1)[0]) not in pinned and canonical(pin.split("==", 1)[0]) not in present
        ]
    if new:
        run(
            [uv, "pip", "install", "--python", str(python), "--target", str(overlay), "--no-deps", *new, *links],
            doing=f"installing {', '.join(new)} into {overlay}",
            on_line=on_line,
            cancel=cancel,
            network="the package index",
        )
    return new

"""``lorapilot install native-trainer``: the native trainer's packages (the ``train`` extra).

The native trainer runs ``python -m lorapilot.tools.trainpilot.native`` in the interpreter that
has lorapilot (under Nix: the ``lorapilot-train`` environment, which already carries them). A
``pip install .`` has none of torch, diffusers or peft; this puts the ``train`` extra's
requirements, as lorapilot's own metadata lists them, into that interpreter with ``uv pip``.

On a machine without an NVIDIA GPU torch comes from PyTorch's CPU index first: PyPI's default
torch wheel carries about 5 GB of CUDA libraries a CPU box never uses.
"""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

from lorapilot.kit.errors import LorapilotError

NAME = "native-trainer"
ALIASES = ("native-trainer", "lorapilot-train")
# PyTorch's CPU wheels; LORAPILOT_TORCH_CPU_INDEX points at a mirror (uv's own UV_DEFAULT_INDEX covers PyPI).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What the native trainer imports before its first step (validation asks the interpreter for these).
NEEDED_MODULES = ("torch", "diffusers", "peft", "accelerate", "transformers", "safetensors")
_EXTRA = re.compile(r"""extra\s*==\s*["']train["']""")


def train_requirements() -> list[str]:
    """The ``train`` extra's requirements from lorapilot's installed metadata (markers stripped)."""
    try:
        requires = metadata.requires("lorapilot") or []
    except metadata.PackageNotFoundError as exc:
        raise LorapilotError(
            "lorapilot's package metadata is missing (run from an installed lorapilot: pip install .)"
        ) from exc
    return [req.split(";")[0].strip() for req in requires if ";" in req and _EXTRA.search(req.split(";", 1)[1])]


def stack_pins(requirements: list[str]) -> list[str]:
    """The shared stack's exact pins (components/stack.toml) for the packages ``requirements`` name:
    the native trainer gets the torch every component environment has, wherever uv runs."""
    from lorapilot.stack.cudastack import load_cuda_stack

    try:
        pins = load_cuda_stack().pins
    except (LorapilotError, OSError):
        return []  # no stack file next to this lorapilot: the extra's ranges alone
    named = {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].lower() for r in requirements}
    return [f"{name}=={version}" for name, version in pins.items() if name in named]


def install_commands(uv: str, python: Path, gpu: bool) -> list[list[str]]:
    """The ``uv pip install`` commands, in order: CPU torch first where there is no GPU."""
    requirements = train_requirements()
    requirements = [*requirements, *stack_pins(requirements)]
    if not requirements:
        raise LorapilotError("lorapilot's metadata lists no `train` extra; reinstall lorapilot (pip install .)")
    base = [uv, "pip", "install", "--python", str(python)]
    commands = []
    if not gpu:
        torch = [r for r in requirements if re.match(r"torch\b", r)]
        commands.append([*base, "--index-url", os.environ.get("LORAPILOT_TORCH_CPU_INDEX", TORCH_CPU_INDEX), *torch])
    commands.append([*base, *requirements])
    return commands


def missing_modules(python: Path, modules=NEEDED_MODULES) -> list[str] | None:
    """Which of ``modules`` the interpreter ``python`` cannot find (None: no interpreter to ask)."""
    import subprocess

    if not python.exists():
        return None
    probe = (
        "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
    )
    try:
        done = subprocess.run([str(python), "-c", probe, *modules], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.split()

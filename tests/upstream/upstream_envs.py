"""Helpers of the upstream tier (tests/upstream): vendor archives, cached upstream environments, readiness.

``conftest.py`` turns these into fixtures; test modules import them as ``upstream_envs`` (a unique name:
``conftest`` is ambiguous between tests/ and tests/upstream/).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Outside the checkout, so that a fresh clone on the same machine (CI) reuses environments that took
# minutes to build; LORAPILOT_UPSTREAM_CACHE moves it.
CACHE_DIR = Path(os.environ.get("LORAPILOT_UPSTREAM_CACHE") or Path.home() / ".cache" / "lorapilot-upstream")
TORCH_PIN = "torch==2.13.0"
# PyPI's torchvision for torch 2.13 (its compiled ops are CUDA builds: see torchvision_cpu_ops.py).
TORCHVISION_PIN = "torchvision==0.28.0"
PYTHON = "python3.11"
_CPU_OPS_SHIM = Path(__file__).with_name("torchvision_cpu_ops.py")


def find_vendor_dir() -> Path:
    """``$LORAPILOT_VENDOR_DIR``, else ``../shared/vendor`` beside this checkout or, in a git worktree, beside
    the main checkout."""
    configured = os.environ.get("LORAPILOT_VENDOR_DIR")
    if configured:
        return Path(configured)
    beside = REPO_ROOT.parent / "shared" / "vendor"
    if beside.is_dir():
        return beside
    common = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
        capture_output=True,
        text=True,
    )
    if common.returncode == 0 and common.stdout.strip():
        main_vendor = Path(common.stdout.strip()).parent.parent / "shared" / "vendor"
        if main_vendor.is_dir():
            return main_vendor
    return beside


def _python311() -> str:
    found = shutil.which(PYTHON)
    if found is None:
        pytest.skip(f"{PYTHON} is not on PATH: the upstream environments are Python 3.11")
    return found


def _env_key(name: str, requirements: list[str], torch: bool) -> str:
    spec = {
        "name": name,
        "python": PYTHON,
        "torch": TORCH_PIN if torch else None,
        "requirements": requirements,
        "shim": _CPU_OPS_SHIM.read_text() if torch else None,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _pip(python: Path, *args: str, log) -> None:
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args]
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}); see {log.name}")


def build_env(name: str, requirements: list[str], torch: bool = True) -> Path:
    """The cached environment ``<cache>/<name>`` (see the module docstring)."""
    python311 = _python311()
    key = _env_key(name, requirements, torch)
    env = CACHE_DIR / name
    marker = env / "lorapilot-env.json"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per env, also across pytest processes
        try:
            if json.loads(marker.read_text()).get("key") == key:
                return env
        except (OSError, ValueError):
            pass
        shutil.rmtree(env, ignore_errors=True)
        started = time.monotonic()
        subprocess.run([python311, "-m", "venv", str(env)], check=True)
        python = env / "bin" / "python"
        with open(CACHE_DIR / f"{name}.log", "w") as log:
            if torch:
                _pip(python, TORCH_PIN, log=log)
                site = Path(
                    subprocess.run(
                        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout.strip()
                )
                shutil.copyfile(_CPU_OPS_SHIM, site / "_lorapilot_torchvision_cpu_ops.py")
                (site / "lorapilot_torchvision_cpu_ops.pth").write_text(
                    "import _lorapilot_torchvision_cpu_ops; _lorapilot_torchvision_cpu_ops.install()\n"
                )
            # torch stays pinned while the rest resolves around it.
            _pip(python, *([TORCH_PIN] if torch else []), *requirements, log=log)
        marker.write_text(
            json.dumps(
                {
                    "key": key,
                    "requirements": requirements,
                    "torch": TORCH_PIN if torch else None,
                    "python": PYTHON,
                    "built_in_s": round(time.monotonic() - started),
                },
                indent=2,
            )
        )
    return env


def component_requirements(name: str, drop: set[str] = frozenset(), add: list[str] = ()) -> list[str]:
    """The dependencies pinned in ``components/<name>/pyproject.toml``, less ``drop`` (by name), plus ``add``."""
    data = tomllib.loads((REPO_ROOT / "components" / name / "pyproject.toml").read_text())
    kept = []
    for requirement in data["project"]["dependencies"]:
        project = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()
        if project not in drop:
            kept.append(requirement)
    return [*kept, *add]


# ComfyUI's environment in this tier. torchaudio is left out: PyPI's wheels are CUDA builds that need CUDA torch
# (ComfyUI then logs "torchaudio missing, ACE model will be broken"). requests:
# ComfyUI's app/frontend_management.py imports it, but its requirements.txt
# does not list it (other packages used to bring it). ComfyUI-Manager's requirements (the pinned node, which this
# tier does not place) are left out too: the cached env is shared by every checkout on the machine.
COMFY_MANAGER_REQUIREMENTS = {
    "gitpython", "pygithub", "matrix-nio", "huggingface-hub", "typer", "rich", "typing-extensions", "toml", "uv",
    "chardet",
}  # fmt: skip
COMFY_REQUIREMENTS = component_requirements(
    "comfyui",
    drop={"torch", "torchvision", "torchaudio", *COMFY_MANAGER_REQUIREMENTS},
    add=[TORCHVISION_PIN, "requests"],
)


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def wait_ready(ctx, name: str, timeout: float = 240) -> dict:
    """Poll `lorapilot status` until ``name`` is ready; fails at once with its log when it stopped."""
    from support.running import lorapilot, wait_for

    def ready():
        status = {s["name"]: s for s in json.loads(lorapilot(ctx, "status", "--json").stdout)}
        if status[name]["state"] in ("fatal", "exited", "backoff"):
            logs = lorapilot(ctx, "logs", name, "--tail", "60", check=False).stdout
            raise AssertionError(f"{name} is {status[name]['state']}:\n{logs}")
        return status[name] if status[name]["ready"] else None

    return wait_for(ready, timeout=timeout, interval=1, what=f"{name}'s readiness probe")


def pinned_source(name: str) -> dict:
    """The ``[source]`` table of components/<name>/component.toml."""
    return tomllib.loads((REPO_ROOT / "components" / name / "component.toml").read_text())["source"]

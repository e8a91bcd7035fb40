"""Every locked environment (each component's and LoRA Pilot's own) is on the one stack of components/stack.toml.

One Python, one torch, one CUDA: Nix and the image then hold each of those wheels once.
"""

import tomllib
from pathlib import Path

import pytest

from support.workspaces import REPO_ROOT

STACK = tomllib.loads((REPO_ROOT / "components" / "stack.toml").read_text())
COMPONENTS = sorted(p.parent for p in (REPO_ROOT / "components").glob("*/uv.lock"))
LOCKED = [REPO_ROOT, *COMPONENTS]


def _lock(project: Path) -> dict[str, list[str]]:
    versions: dict[str, list[str]] = {}
    for package in tomllib.loads((project / "uv.lock").read_text())["package"]:
        versions.setdefault(package["name"], []).append(package["version"])
    return versions


def _ids(project: Path) -> str:
    return "root" if project == REPO_ROOT else project.name


def test_every_component_uses_the_stacks_python():
    for project in COMPONENTS:
        assert (project / ".python-version").read_text().strip() == STACK["python"], project.name
        spec = tomllib.loads((project / "pyproject.toml").read_text())["project"]["requires-python"]
        assert spec == f"=={STACK['python']}.*", project.name


@pytest.mark.parametrize("project", LOCKED, ids=_ids)
def test_the_lock_holds_the_stacks_torch_and_cuda_or_none(project):
    locked = _lock(project)
    for name, version in STACK["pins"].items():
        assert locked.get(name, [version]) == [version], f"{_ids(project)}: {name} {locked.get(name)}"
    # CUDA 12 wheels only (CUDA 13's carry no -cu12 suffix and need a newer driver), of the stack's minor version.
    cuda13 = sorted(n for n in locked if n.startswith("nvidia-cuda-runtime") and not n.endswith("-cu12"))
    assert cuda13 == [], _ids(project)
    for version in locked.get("nvidia-cuda-runtime-cu12", []):
        assert version.startswith(STACK["cuda"] + "."), (_ids(project), version)


@pytest.mark.parametrize("project", LOCKED, ids=_ids)
def test_pyproject_constrains_every_torch_package_to_the_stack(project):
    uv = tomllib.loads((project / "pyproject.toml").read_text()).get("tool", {}).get("uv", {})
    if "torch" not in _lock(project):
        return  # JupyterLab, TensorBoard: nothing of the stack to hold
    constraints = set(uv.get("constraint-dependencies", []))
    assert {f"{name}=={version}" for name, version in STACK["pins"].items()} <= constraints, _ids(project)


@pytest.mark.parametrize("project", LOCKED, ids=_ids)
def test_at_most_one_opencv_distribution_per_environment(project):
    # opencv-python, -headless, -contrib... all ship cv2/: two in one venv collide.
    opencv = sorted(n for n in _lock(project) if n.startswith("opencv-"))
    assert len(opencv) <= 1, f"{_ids(project)}: {opencv}"

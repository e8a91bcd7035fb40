"""Every uv.lock is consistent with its pyproject.toml (`uv lock --check`), offline.

`uv lock --check --offline` re-resolves from the lock alone: it fails, naming
the package, when pyproject.toml asks for something the lock does not hold.
uv needs an interpreter matching requires-python (3.11 for Kohya, 3.12 for the
others, 3.11+ for the root); it never downloads one here.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker

from support.workspaces import REPO_ROOT

LOCKED_PROJECTS = [REPO_ROOT] + sorted(p.parent for p in (REPO_ROOT / "components").glob("*/uv.lock"))


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not os.access(found, os.X_OK):
        pytest.fail("uv is not installed: it is in the [dev] extra (pip install -e '.[dev]')")
    return found


def _interpreter(project: Path) -> str:
    """An interpreter for the project's .python-version (or this one for the root)."""
    version_file = project / ".python-version"
    if not version_file.exists():
        return sys.executable
    version = version_file.read_text().strip()
    # Real interpreters before version-manager shims (a pyenv shim answers per folder).
    candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))
    candidates += sorted(glob.glob(f"/root/.pyenv/versions/{version}*/bin/python{version}"))
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}", shutil.which(f"python{version}")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"{project.name}: no python{version} found for `uv lock --check` (its .python-version)")


def _check(project: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    return subprocess.run(
        [_uv(), "lock", "--check", "--offline", "--python", _interpreter(project)],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize("project", LOCKED_PROJECTS, ids=lambda p: "root" if p == REPO_ROOT else p.name)
def test_lock_matches_pyproject(project, tmp_path):
    result = _check(project, tmp_path)
    assert result.returncode == 0, f"{project}/uv.lock is stale; run `uv lock` there:\n{result.stderr}"
    assert re.search(r"Resolved \d+ packages", result.stderr)


def test_a_stale_lock_is_caught(tmp_path):
    project = tmp_path / "tensorboard"
    shutil.copytree(REPO_ROOT / "components" / "tensorboard", project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'dependencies = ["tensorboard==2.21.0"]', 'dependencies = ["tensorboard==2.21.0", "rich"]'
        )
    )
    result = _check(project, tmp_path)
    # The lock no longer answers pyproject.toml, and offline there is nothing else to resolve from.
    assert result.returncode != 0
    assert "No solution found" in result.stderr


def test_every_python_component_has_a_locked_environment():
    for name in ("comfyui", "invokeai", "kohya", "ai-toolkit", "tensorboard", "jupyterlab", "diffusion-pipe"):
        folder = REPO_ROOT / "components" / name
        assert (folder / "pyproject.toml").exists() and (folder / "uv.lock").exists(), name
        assert (folder / ".python-version").read_text().strip() in ("3.11", "3.12")


def _locked_platforms(project: Path) -> list[str]:
    environments = (
        tomllib.loads((project / "pyproject.toml").read_text()).get("tool", {}).get("uv", {}).get("environments", [])
    )
    machines = [
        m
        for m in ("x86_64", "aarch64")
        if not environments
        or any("platform_machine" not in marker or f"platform_machine == '{m}'" in marker for marker in environments)
    ]
    return machines


def _missing_distributions(project: Path, machine: str) -> list[str]:
    """Packages the environment needs on ``machine`` that have neither a wheel for it nor an sdist.

    uv locks universally and does not check that; uv2nix (and `uv sync`) would fail there.
    """
    lock = tomllib.loads((project / "uv.lock").read_text())
    by_name = {p["name"]: p for p in lock["package"]}
    version_file = project / ".python-version"
    python = version_file.read_text().strip() if version_file.exists() else "3.12"
    env = {
        "sys_platform": "linux",
        "platform_machine": machine,
        "platform_system": "Linux",
        "os_name": "posix",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    root = next(p for p in lock["package"] if {"virtual", "editable"} & set(p.get("source", {})))
    seen, todo, missing = set(), [(root["name"], list(root.get("optional-dependencies", {})))], []
    while todo:
        name, extras = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        package = by_name[name]
        deps = list(package.get("dependencies", []))
        for extra in extras:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        todo += [
            (d["name"], d.get("extra", [])) for d in deps if not d.get("marker") or Marker(d["marker"]).evaluate(env)
        ]
        if "registry" in package.get("source", {}):
            wheels = [w["url"].rsplit("/", 1)[-1] for w in package.get("wheels", [])]
            if not (package.get("sdist") or any(machine in w or w.endswith("-any.whl") for w in wheels)):
                missing.append(f"{name}=={package['version']}")
    return missing


@pytest.mark.parametrize("project", LOCKED_PROJECTS, ids=lambda p: "root" if p == REPO_ROOT else p.name)
def test_every_needed_package_can_be_installed_on_each_locked_machine(project):
    machines = _locked_platforms(project)
    assert machines
    for machine in machines:
        assert _missing_distributions(project, machine) == [], f"{project}: nothing installable on {machine}"

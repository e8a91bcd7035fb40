"""pyproject.toml (hatchling) builds a wheel that works on its own: the package from
python/lorapilot, the component specs inside it, and the `lorapilot` console script."""

import os
import subprocess
import sys
import zipfile

import pytest

from support.workspaces import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # No build hooks: the web UI build (hatch_build.py) is tested by scripts/check, not here.
    env = dict(os.environ, HATCH_BUILD_NO_HOOKS="true")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO_ROOT),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("lorapilot-*.whl")
    return path


def test_wheel_holds_the_package_the_specs_and_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "lorapilot/cli/__init__.py" in names and "lorapilot/stack/components/registry.py" in names
    specs = {n.split("/")[2] for n in names if n.startswith("lorapilot/_components/") and n.endswith("/component.toml")}
    assert specs == {
        "controlpilot",
        "comfyui",
        "invokeai",
        "kohya",
        "ai-toolkit",
        "tensorboard",
        "jupyterlab",
        "code-server",
        "copilot",
    }
    assert "[console_scripts]\nlorapilot = lorapilot.cli:main" in entry_points
    assert not any(n.startswith("lorapilot/controlpilot/web/") for n in names), "the UI sources stay out of the wheel"
    assert not any(n.startswith("tests/") for n in names)


def test_unpacked_wheel_runs_without_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORAPILOT_")}
    env["PYTHONPATH"] = str(site)
    code = (
        "import lorapilot, sys\n"
        "from lorapilot.stack.components import default_components_dir, load_registry\n"
        "print(lorapilot.__file__)\n"
        "print(default_components_dir())\n"
        "print(len(load_registry()))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    module, components, count = result.stdout.split()
    assert module == str(site / "lorapilot" / "__init__.py")
    assert components == str(site / "lorapilot" / "_components")
    assert count == "9"
    helped = subprocess.run(
        [sys.executable, "-m", "lorapilot", "--help"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert helped.returncode == 0 and "Usage: lorapilot" in helped.stdout

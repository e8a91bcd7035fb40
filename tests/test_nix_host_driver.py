"""nix/host-driver.sh: the host's NVIDIA driver reaches Nix programs, the host's libc does not."""

import os
import subprocess
from pathlib import Path

import pytest

from support.workspaces import REPO_ROOT

SCRIPT = REPO_ROOT / "nix" / "host-driver.sh"


def _source(env: dict[str, str]) -> str:
    result = subprocess.run(
        ["sh", "-c", f'. "{SCRIPT}"; printf %s "$LD_LIBRARY_PATH"'],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def host_libs(tmp_path):
    libs = tmp_path / "usr-lib"
    libs.mkdir()
    for name in (
        "libcuda.so.1",
        "libcuda.so.580.95.05",
        "libnvidia-ml.so.1",
        "libnvidia-ptxjitcompiler.so.1",
        "libc.so.6",
        "libstdc++.so.6",
        "libz.so.1",
    ):
        (libs / name).write_text(name)
    return libs


@pytest.mark.skipif(Path("/run/opengl-driver/lib/libcuda.so.1").exists(), reason="a NixOS driver is linked here")
def test_only_the_driver_libraries_are_put_on_the_library_path(host_libs, tmp_path):
    path = _source(
        {
            "LORAPILOT_DRIVER_DIRS": f"{tmp_path / 'missing'} {host_libs}",
            "XDG_RUNTIME_DIR": str(tmp_path),
            "LD_LIBRARY_PATH": "/already/there",
        }
    )
    first, rest = path.split(":", 1)
    assert rest == "/already/there"
    private = Path(first)
    assert private.parent == tmp_path and private.name.startswith("lorapilot-driver-")
    linked = sorted(p.name for p in private.iterdir())
    assert linked == ["libcuda.so.1", "libcuda.so.580.95.05", "libnvidia-ml.so.1", "libnvidia-ptxjitcompiler.so.1"]
    assert all((private / name).resolve() == host_libs / name for name in linked)
    assert str(host_libs) not in path


def test_nothing_changes_without_a_driver_or_when_turned_off(host_libs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _source({"LORAPILOT_DRIVER_DIRS": str(empty), "LD_LIBRARY_PATH": "/x"}) == "/x"
    assert _source({"LORAPILOT_DRIVER_DIRS": str(host_libs), "LORAPILOT_NO_HOST_DRIVER": "1"}) == ""

"""Every .nix file in the repository parses (Nix 2.8's parser, as CI has it)."""

import subprocess

import pytest

from support.nixflake import nix_available
from support.workspaces import REPO_ROOT

pytestmark = [
    pytest.mark.nix,
    pytest.mark.skipif(not nix_available(), reason="nix is not installed (CI installs nix-bin)"),
]

NIX_FILES = sorted(
    p
    for p in REPO_ROOT.rglob("*.nix")
    if not any(part in {".venv", "node_modules", ".git"} for part in p.relative_to(REPO_ROOT).parts)
)


def test_the_flake_and_its_modules_are_there():
    names = {p.relative_to(REPO_ROOT).as_posix() for p in NIX_FILES}
    for expected in (
        "flake.nix",
        "nix/outputs.nix",
        "nix/per-system.nix",
        "nix/cuda.nix",
        "nix/image.nix",
        "nix/app.nix",
        "nix/devshell.nix",
        "nix/python-env.nix",
        "nix/pins.nix",
    ):
        assert expected in names


@pytest.mark.parametrize("path", NIX_FILES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_nix_file_parses(path):
    result = subprocess.run(["nix-instantiate", "--parse", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, f"{path}: {result.stderr}"
    assert result.stdout.strip(), f"{path}: parsed to nothing"

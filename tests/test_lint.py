"""The linter, the formatter and the type checker recorded in pyproject.toml pass.

``ruff check`` and ``ruff format --check`` run on LINTED (the whole tree); mypy checks the packages
named in ``[tool.mypy]`` (``lorapilot.kit``, ``lorapilot.stack``). See docs/architecture.md ("Lint, format, types").
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Paths ruff checks and formats: the whole tree.
LINTED = ["python", "tests", "bench"]


def _tool(module: str) -> list[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")
    return [sys.executable, "-m", module]


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(cmd[2:])} failed:\n{result.stdout}\n{result.stderr}"


def test_linted_paths_exist():
    assert [p for p in LINTED if not (ROOT / p).exists()] == []


def test_ruff_check():
    _run([*_tool("ruff"), "check", *LINTED])


def test_ruff_format():
    _run([*_tool("ruff"), "format", "--check", *LINTED])


def test_mypy_on_the_kit_and_the_stack():
    _run([*_tool("mypy")])  # packages and settings: [tool.mypy] in pyproject.toml

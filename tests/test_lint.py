"""The linter, the formatter and the type checker recorded in pyproject.toml pass.

``ruff check`` and ``ruff format --check`` run on LINTED (the kit, the stack and the files already brought
in line); mypy checks the packages named in ``[tool.mypy]`` (``lorapilot.kit``, ``lorapilot.stack``).
docs/architecture.md ("Lint, format, types") says how LINTED grows to the whole tree.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Paths ruff checks and formats. Widen this (ideally to ["python", "tests", "bench"]) once the tree is formatted.
LINTED = [
    "python/lorapilot/kit",
    "python/lorapilot/stack",
    "python/lorapilot/tools/trainpilot/bounds.py",
    "python/lorapilot/tools/trainpilot/native/config.py",
    "python/lorapilot/tools/mediapilot/tomledit.py",
    "tests/test_lint.py",
    "tests/test_docs_architecture.py",
    "tests/test_image_extensions_one_list.py",
    "tests/test_kit_netaddr_loopback.py",
    "tests/test_dataset_handoff_contract.py",
    "tests/test_kit_logtail_records.py",
    "tests/test_kit_nvml_probe.py",
    "tests/test_trainpilot_setting_bounds.py",
]


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

"""docs/architecture.md names no file or module that does not exist.

Every path-looking token (``a/b``, ``a/b.py``, ``name.toml``) and every dotted ``lorapilot.x.y`` name in the
page is checked: paths against the repository (or ``python/lorapilot/``, the package root), bare file names
against the files git knows, dotted names by importing the module and looking up the attribute. Placeholders
(``<tool>``, ``<workspace>/config/...``) and URLs (``/api/...``) are not paths and are skipped.
"""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE_ROOT = ROOT / "python" / "lorapilot"
EXTENSIONS = ("py", "md", "toml", "nix", "json", "lock", "ts", "tsx", "yaml", "sh", "cfg", "txt")

# A token starts where no path character, placeholder bracket or URL slash precedes it.
_PATH = re.compile(
    r"(?<![\w/.<>:-])((?:[\w.-]+/)+(?:[\w.-]+)?|[\w-]+(?:\.[\w-]+)*\.(?:" + "|".join(EXTENSIONS) + r"))(?![\w<>])"
)
_DOTTED = re.compile(r"(?<![\w./<>])lorapilot(?:\.\w+)+(?::\w+)?")


def _tokens(pattern: re.Pattern[str]) -> list[str]:
    return sorted(set(pattern.findall(DOC.read_text(encoding="utf-8"))))


def _known_basenames() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {Path(line).name for line in listed.splitlines()}


def _path_exists(token: str, basenames: set[str]) -> bool:
    if "/" not in token.rstrip("/"):
        name = token.rstrip("/")
        return name in basenames or (ROOT / name).exists() or (PACKAGE_ROOT / name).exists()
    return (ROOT / token).exists() or (PACKAGE_ROOT / token).exists()


def _resolves(dotted: str) -> bool:
    name, _, attr = dotted.partition(":")
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for part in parts[cut:] + ([attr] if attr else []):
            if not hasattr(obj, part):
                return False
            obj = getattr(obj, part)
        return True
    return False


def test_the_page_names_paths_and_modules():
    # Guards the extraction itself: a page where nothing matched would pass vacuously.
    assert len(_tokens(_PATH)) > 20 and len(_tokens(_DOTTED)) > 20


@pytest.mark.parametrize("token", _tokens(_PATH))
def test_every_path_exists(token):
    assert _path_exists(token, _known_basenames()), f"docs/architecture.md names {token!r}, which does not exist"


@pytest.mark.parametrize("dotted", _tokens(_DOTTED))
def test_every_module_and_attribute_exists(dotted):
    assert _resolves(dotted), f"docs/architecture.md names {dotted!r}, which cannot be imported"


def test_the_checker_catches_a_missing_file_and_module():
    basenames = _known_basenames()
    assert _path_exists("python/lorapilot/kit/errors.py", basenames)
    assert not _path_exists("python/lorapilot/kit/nothing_here.py", basenames)
    assert not _path_exists("trainpilot/runner.py", basenames)  # renamed: job_processes.py
    assert _resolves("lorapilot.kit.errors.ConfigError") and _resolves("lorapilot.tools.trainpilot.cli:train_group")
    assert not _resolves("lorapilot.stack.manifest") and not _resolves("lorapilot.kit.errors.Nope")
    assert _PATH.findall("see `<workspace>/config/lorapilot.toml` and /api/tasks") == []

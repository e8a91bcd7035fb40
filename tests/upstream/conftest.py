"""The upstream tier: real upstream apps and trainers, from ../shared/vendor/ archives and PyPI.

Fixtures:

- ``vendor_dir``: the folder of pinned upstream archives, ``../shared/vendor/``
  beside the checkout (or ``$LORAPILOT_VENDOR_DIR``); a test that needs it skips,
  naming the folder, when it is absent.
- ``vendor_archive(prefix)``: one archive there, e.g. ``vendor_archive("comfyui-")``.
- ``upstream_env(name, requirements, torch=True)``: a Python 3.11 virtual
  environment under ``~/.cache/lorapilot-upstream/<name>`` (``$LORAPILOT_UPSTREAM_CACHE``): CPU torch 2.13.0
  first (``pip install torch==2.13.0``, the wheel on disk here, what
  ``scripts/check`` installs too), then the component's other requirements.
  Built once and reused while its inputs are unchanged (a key in
  ``lorapilot-env.json``, written last, so a half-built env is rebuilt).

Every test here is marked ``upstream`` (``-m "not upstream"`` leaves the tier out).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from upstream_envs import build_env, find_vendor_dir


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.upstream)


@pytest.fixture(scope="session")
def vendor_dir() -> Path:
    """The pinned upstream archives; skips naming the folder when it is absent."""
    folder = find_vendor_dir()
    if not (folder / "SHA256SUMS").is_file():
        pytest.skip(f"the upstream archives are not here: {folder} (../shared/vendor/ beside the checkout) is absent")
    return folder


@pytest.fixture(scope="session")
def vendor_archive(vendor_dir):
    """``vendor_archive("comfyui-")``: the one archive whose name starts with the prefix."""

    def find(prefix: str) -> Path:
        found = sorted(vendor_dir.glob(f"{prefix}*.tar.gz"))
        if len(found) != 1:
            pytest.skip(f"expected one {prefix}*.tar.gz in {vendor_dir}, found {[p.name for p in found]}")
        return found[0]

    return find


@pytest.fixture(scope="session")
def upstream_env():
    """``upstream_env(name, requirements, torch=True)`` -> the cached environment's root."""
    return build_env

#!/usr/bin/env python3
"""Estimate the OCI image's size from the uv.lock files, without building it.

For every environment the image carries, take the x86_64 Linux wheel uv2nix
would pick for each locked package (its size is in the lock), count each wheel
once across environments (Nix stores an identical build once), and print the
totals. Wheels are zip files: what the image holds unpacked is larger, which the
last line estimates with a factor measured on two CUDA wheels.

Usage: python3 oci/estimate-size.py
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Measured here: nvidia-nvjitlink-cu12 and nvidia-cuda-nvrtc-cu12 12.8.93 unpack to 2.4x and
# 2.5x their wheel size; the CUDA libraries are most of every environment.
UNPACK_FACTOR = 2.4


def _wheel_for(pkg: dict, cp: str) -> dict | None:
    """The wheel uv2nix would pick on x86_64-linux for CPython ``cp`` (e.g. "cp312")."""
    best = None
    for wheel in pkg.get("wheels", []):
        name = wheel["url"].rsplit("/", 1)[-1]
        if not re.search(r"(manylinux|linux_x86_64|-any\.whl)", name) or "aarch64" in name:
            continue
        if re.search(r"-cp\d+", name) and f"-{cp}-" not in name and "-abi3-" not in name:
            continue
        best = best or wheel
    return best


def main() -> None:
    locks = {p.parent.name: p for p in sorted((ROOT / "components").glob("*/uv.lock"))}
    locks["lorapilot"] = ROOT / "uv.lock"
    seen: dict[str, int] = {}
    print(f"{'environment':<16} {'packages':>8} {'wheels (MB)':>12}")
    for name, lock_path in locks.items():
        version_file = lock_path.parent / ".python-version"
        cp = "cp" + (version_file.read_text().strip() if version_file.exists() else "3.12").replace(".", "")
        lock = tomllib.loads(lock_path.read_text())
        total = count = 0
        for pkg in lock["package"]:
            wheel = _wheel_for(pkg, cp)
            if wheel is None or "size" not in wheel:
                continue
            total += wheel["size"]
            count += 1
            seen[wheel["url"]] = wheel["size"]
        print(f"{name:<16} {count:>8} {total / 1e6:>12.0f}")
    unique = sum(seen.values())
    print(f"{'all (each wheel once)':<26} {unique / 1e9:>12.1f} GB of wheels: about what a push sends (gzip layers)")
    print(f"{'unpacked in the image, about':<26} {unique * UNPACK_FACTOR / 1e9:>12.1f} GB, plus ~1 GB (code-server, Node UIs, Python)")


if __name__ == "__main__":
    main()

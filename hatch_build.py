"""Hatch build hook: build ControlPilot's web UI into the package when it is missing.

`npm ci && npm run build` in python/lorapilot/controlpilot/web writes static/, which the
wheel ships (see `artifacts` in pyproject.toml). Already built (scripts/check, the Nix
package), or no npm on PATH: nothing to do here; without npm the wheel still installs and
ControlPilot shows a page saying how to build the UI.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

WEB = Path("python/lorapilot/controlpilot/web")
STATIC = Path("python/lorapilot/controlpilot/static")


class WebUIBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        root = Path(self.root)
        if (root / STATIC / "index.html").is_file() or not (root / WEB / "package.json").is_file():
            return
        npm = shutil.which("npm")
        if npm is None:
            self.app.display_warning(f"npm not found: the wheel has no web UI; build it with `npm ci && npm run build` in {WEB}")
            return
        self.app.display_info(f"building the web UI in {WEB}")
        for args in (["ci", "--no-audit", "--no-fund", "--loglevel=error"], ["run", "build", "--silent"]):
            result = subprocess.run([npm, *args], cwd=root / WEB)
            if result.returncode != 0:
                self.app.display_warning(f"`npm {' '.join(args)}` failed in {WEB}: the wheel has no web UI")
                return

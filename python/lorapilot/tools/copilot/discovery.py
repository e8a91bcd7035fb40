"""Find the Copilot CLI, its version, and whether a token is configured (never the token)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lorapilot.tools.copilot.command import token_from

CLI_NAME = "copilot"
CLI_ENV = "LORAPILOT_COPILOT_CLI"
INSTALL_HINT = "npm install -g @github/copilot@1.0.102 (or run LoRA Pilot through Nix, which provides it)"
_VERSION_RE = re.compile(r"(\d+\.\d+\.\d+[0-9A-Za-z.\-+]*?)\.?(?:\s|$)")


@dataclass(frozen=True)
class CliInfo:
    """Whether the CLI is there, where, and its version."""

    installed: bool
    path: str | None
    version: str | None
    error: str | None = None

    def to_dict(self) -> dict:
        return {
            "installed": self.installed,
            "path": self.path,
            "version": self.version,
            "error": self.error,
            "install_hint": None if self.installed else INSTALL_HINT,
        }


def find_cli(
    explicit: str | None = None, manifest_env: Path | None = None, state_dir: Path | None = None
) -> str | None:
    """The CLI to run, first found of: ``explicit``, ``$LORAPILOT_COPILOT_CLI``, the manifest's
    ``<env>/bin/copilot`` (Nix), PATH, and ``apps/copilot/node_modules/.bin/copilot``
    (an ``npm ci`` of ``components/copilot`` into the workspace).
    """
    for candidate in (explicit, os.environ.get(CLI_ENV)):
        if candidate:
            return shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
    if manifest_env is not None and os.access(manifest_env / "bin" / CLI_NAME, os.X_OK):
        return str(manifest_env / "bin" / CLI_NAME)
    on_path = shutil.which(CLI_NAME)
    if on_path:
        return on_path
    if state_dir is not None and os.access(state_dir / "node_modules" / ".bin" / CLI_NAME, os.X_OK):
        return str(state_dir / "node_modules" / ".bin" / CLI_NAME)
    return None


def parse_version(text: str) -> str | None:
    """``GitHub Copilot CLI 1.0.102.`` -> ``1.0.102``."""
    match = _VERSION_RE.search(text)
    return match.group(1) if match else None


def cli_info(cli: str | None, timeout_s: float = 20) -> CliInfo:
    """Run ``copilot --version`` to learn the version (and that it runs at all)."""
    if cli is None:
        return CliInfo(installed=False, path=None, version=None, error=f"{CLI_NAME} not found on PATH")
    try:
        result = subprocess.run(
            [cli, "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "NO_COLOR": "1", "COPILOT_AUTO_UPDATE": "false"},
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CliInfo(installed=False, path=cli, version=None, error=f"{cli} --version failed: {exc}")
    version = parse_version(result.stdout + "\n" + result.stderr)
    if result.returncode != 0 or version is None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        return CliInfo(
            installed=False,
            path=cli,
            version=None,
            error=f"{cli} --version exited {result.returncode}: {tail[0][:200]}",
        )
    return CliInfo(installed=True, path=cli, version=version)


def token_status(secrets: dict[str, str], environ: dict[str, str]) -> dict:
    """``{configured, source}``: where the token comes from, never its value."""
    token, source = token_from(secrets, environ)
    return {"configured": bool(token), "source": source}

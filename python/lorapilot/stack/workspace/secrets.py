"""``config/secrets.env``: generated once, mode 0600, never printed unless asked."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.fsutil import atomic_write_text

SECRET_MODE = 0o600

# Secrets LoRA Pilot generates itself. Others (HF_TOKEN, CIVITAI_TOKEN,
# COPILOT_GITHUB_TOKEN, ...) are added by the user or the tools that need them.
GENERATED_SECRETS = (
    "CONTROLPILOT_PASSWORD",
    "JUPYTER_TOKEN",
    "CODE_SERVER_PASSWORD",
    "AI_TOOLKIT_AUTH",
    "PROCESS_COMPOSE_TOKEN",
    "SUPERVISOR_PASSWORD",
    # Sent by ControlPilot's /api/copilot proxy; the Copilot sidecar answers nothing else.
    "COPILOT_SIDECAR_SECRET",
)

_KEY_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def read_secrets(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file; blank lines and ``#`` comments are skipped."""
    path = Path(path)
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        key = key.strip()
        if not sep or not _KEY_RE.match(key):
            raise ConfigError(path, f"line {lineno}: expected KEY=value")
        values[key] = _unquote(value.strip())
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def _format_line(key: str, value: str) -> str:
    if any(c in value for c in " #\"'\n="):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{key}={value}"


def ensure_secrets(path: Path) -> list[str]:
    """Add any missing generated secret; existing lines are kept as they are.

    Returns the keys that were added. The file always ends up with mode 0600.
    """
    path = Path(path)
    existing = read_secrets(path)
    missing = [key for key in GENERATED_SECRETS if key not in existing]
    if missing:
        text = (
            path.read_text(encoding="utf-8")
            if path.exists()
            else ("# LoRA Pilot secrets. Mode 0600; shown only by `lorapilot secrets show`.\n")
        )
        if text and not text.endswith("\n"):
            text += "\n"
        for key in missing:
            text += _format_line(key, secrets.token_urlsafe(24)) + "\n"
        atomic_write_text(path, text, mode=SECRET_MODE)
    elif path.exists() and (path.stat().st_mode & 0o777) != SECRET_MODE:
        os.chmod(path, SECRET_MODE)
    return missing


def set_secret(path: Path, key: str, value: str) -> None:
    """Set (or replace) one secret, keeping every other line and mode 0600."""
    if not _KEY_RE.match(key):
        raise ConfigError(path, f"secret name {key!r} must be upper-case letters, digits and '_'")
    if "\n" in value or "\r" in value:
        raise ConfigError(path, f"secret {key}: value must be a single line")
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    new_line = _format_line(key, value)
    for i, line in enumerate(lines):
        if line.strip().partition("=")[0].strip() == key:
            lines[i] = new_line
            break
    else:
        lines.append(new_line)
    atomic_write_text(path, "\n".join(lines) + "\n", mode=SECRET_MODE)


def delete_secret(path: Path, key: str) -> bool:
    """Remove one secret; returns whether it was present."""
    path = Path(path)
    if not path.exists():
        return False
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.strip().partition("=")[0].strip() != key]
    if len(kept) == len(lines):
        return False
    atomic_write_text(path, "\n".join(kept) + "\n", mode=SECRET_MODE)
    return True

"""Who may drive the Copilot sidecar: ControlPilot's proxy (and scripts that hold the secret), nothing else.

The sidecar listens on loopback, but loopback is not a boundary on its own: a
web page can re-point its own name at 127.0.0.1 (DNS rebinding) or send a
"simple" cross-site request (a form POST with no body). So every request must

* name this machine in ``Host`` (``127.0.0.1:7879``, ``localhost``), never another name;
* carry no foreign ``Origin`` / ``Sec-Fetch-Site: cross-site`` (no browser page talks to it);
* carry the shared secret ``COPILOT_SIDECAR_SECRET`` from ``config/secrets.env`` (mode 0600) in
  :data:`SECRET_HEADER`; only ``GET /health`` (the process manager's probe) is exempt.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from lorapilot.kit.netaddr import names_this_machine
from lorapilot.stack.workspace.secrets import ensure_secrets, read_secrets

SECRET_KEY = "COPILOT_SIDECAR_SECRET"
SECRET_HEADER = "x-lorapilot-sidecar-secret"
OPEN_PATHS = frozenset({"/health"})


def load_secret(secrets_file: Path) -> str:
    """The shared secret, generated into ``secrets.env`` (0600) when it is missing."""
    secrets_file.parent.mkdir(parents=True, exist_ok=True)
    ensure_secrets(secrets_file)
    return read_secrets(secrets_file)[SECRET_KEY]


def secret_headers(secrets_file: Path) -> dict[str, str]:
    """The header a client sends to the sidecar (empty when no secret exists yet)."""
    secret = read_secrets(secrets_file).get(SECRET_KEY)
    return {SECRET_HEADER: secret} if secret else {}


def refusal(headers: dict[str, str], path: str, secret: str) -> str | None:
    """Why the request must be refused (403), or None when it may pass."""
    if not names_this_machine(headers.get("host", "")):
        return "the Copilot sidecar answers only to a loopback Host (127.0.0.1 / localhost)"
    if headers.get("origin") or headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return "browser requests are refused: use ControlPilot's /api/copilot"
    if path in OPEN_PATHS:
        return None
    sent = headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(hashlib.sha256(sent.encode()).digest(), hashlib.sha256(secret.encode()).digest()):
        return f"missing or wrong {SECRET_HEADER} header (COPILOT_SIDECAR_SECRET in config/secrets.env)"
    return None

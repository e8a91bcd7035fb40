"""API tokens for scripts: ``Authorization: Bearer <token>``.

Only a SHA-256 hash of each token is stored (``config/controlpilot-tokens.json``,
mode 0600); the token itself is shown once, when it is created.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from lorapilot.controlpilot.filecache import CachedFile
from lorapilot.kit.errors import ConfigError, LorapilotError, NotFoundError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.stack.workspace.layout import Workspace

TOKENS_FILE = "controlpilot-tokens.json"
TOKEN_PREFIX = "lpt_"
_MODE = 0o600


@dataclass(frozen=True)
class TokenInfo:
    """What is kept about a token: never the token itself."""

    id: str
    name: str
    created_at: float
    hash: str

    def public(self) -> dict:
        """The fields the API and CLI may show."""
        return {"id": self.id, "name": self.name, "created_at": self.created_at}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """The API tokens of one workspace."""

    def __init__(self, ws: Workspace):
        self.path = ws.config / TOKENS_FILE
        self._lock = threading.Lock()
        self._file = CachedFile(self.path, self._parse, dict)

    @contextlib.contextmanager
    def _writing(self):
        """Serialise read-modify-write with other threads and other processes (the CLI)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_name(TOKENS_FILE + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _load(self) -> dict[str, TokenInfo]:
        """Tokens by hash, re-read only when the file changed."""
        return self._file.get()

    @staticmethod
    def _parse(path: Path) -> dict[str, TokenInfo]:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            return {row["hash"]: TokenInfo(**row) for row in rows}
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(path, f"unreadable token list ({exc}); delete it to start over") from None

    def _save(self, tokens: list[TokenInfo]) -> None:
        atomic_write_text(self.path, json.dumps([asdict(t) for t in tokens], indent=1) + "\n", mode=_MODE)

    def list(self) -> list[TokenInfo]:
        """Every token, oldest first."""
        return sorted(self._load().values(), key=lambda t: t.created_at)

    def create(self, name: str) -> tuple[TokenInfo, str]:
        """A new token named ``name``; returns its record and the secret (shown once)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise LorapilotError("token name must be 1 to 100 characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(id=uuid.uuid4().hex[:12], name=name, created_at=time.time(), hash=_digest(secret))
        with self._writing():
            self._save([*self.list(), info])
        return info, secret

    def revoke(self, token_id: str) -> TokenInfo:
        """Delete a token by id (or by name when exactly one token has it)."""
        with self._writing():
            tokens = self.list()
            matches = [t for t in tokens if t.id == token_id] or [t for t in tokens if t.name == token_id]
            if not matches:
                raise NotFoundError(f"no API token {token_id!r}")
            if len(matches) > 1:
                raise LorapilotError(f"{len(matches)} tokens are named {token_id!r}; revoke one by its id")
            self._save([t for t in tokens if t.id != matches[0].id])
            return matches[0]

    def verify(self, secret: str) -> TokenInfo | None:
        """The token's record when ``secret`` is a valid token."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        digest = _digest(secret)
        for known, info in self._load().items():
            if hmac.compare_digest(known, digest):
                return info
        return None

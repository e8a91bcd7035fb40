"""Authentication for ControlPilot: a password login with a session cookie (sessions live in
SQLite, :mod:`lorapilot.controlpilot.sessions`), and API tokens (``Authorization: Bearer``).

Login is required when ControlPilot is bound to a non-loopback address (or when
``[controlpilot] auth = "always"``); every router in ``AREA_ROUTERS`` depends on
:func:`require_auth`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os

from fastapi import HTTPException, WebSocketException, status
from starlette.requests import HTTPConnection

from lorapilot.controlpilot.filecache import CachedFile
from lorapilot.controlpilot.ratelimit import LoginLimiter
from lorapilot.controlpilot.sessions import SESSIONS_DB, SessionInfo, SessionStore
from lorapilot.controlpilot.tokens import TokenStore
from lorapilot.kit.netaddr import is_loopback, names_this_machine
from lorapilot.stack.settings import ControlPilotSettings
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.stack.workspace.secrets import read_secrets

SESSION_COOKIE = "lorapilot_session"
PASSWORD_ENV = "LORAPILOT_PASSWORD"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def login_password(secret_values: dict[str, str]) -> str | None:
    """The login password: ``$LORAPILOT_PASSWORD``, else CONTROLPILOT_PASSWORD from secrets.env."""
    return os.environ.get(PASSWORD_ENV) or secret_values.get("CONTROLPILOT_PASSWORD") or None


def _in_networks(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in networks)


class Authenticator:
    """Checks passwords, session cookies and API tokens for one app."""

    def __init__(self, ws: Workspace, settings: ControlPilotSettings, bind_host: str):
        self.required = settings.auth == "always" or not is_loopback(bind_host)
        self.trusted_proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]
        self.session_s = settings.session_hours * 3600
        self.tokens = TokenStore(ws)
        self.limiter = LoginLimiter()
        self._secrets = CachedFile(ws.secrets_file, read_secrets, dict)
        self.sessions = SessionStore(ws.state_dir("controlpilot") / SESSIONS_DB)
        self._password_seen: str | None = None

    # -- password ----------------------------------------------------------
    def password(self) -> str | None:
        """The login password: ``$LORAPILOT_PASSWORD``, else CONTROLPILOT_PASSWORD in secrets.env."""
        return login_password(self._secrets.get())

    def check_password(self, attempt: str) -> bool:
        expected = self.password()
        if not expected:
            return False
        return hmac.compare_digest(
            hashlib.sha256(attempt.encode()).digest(), hashlib.sha256(expected.encode()).digest()
        )

    def _current_password(self) -> str | None:
        """The password, after deleting the sessions of an older one the first time a new one is seen."""
        password = self.password()
        if password is not None and password != self._password_seen:
            self.sessions.drop_other_passwords(password)
            self._password_seen = password
        return password

    # -- session cookies -----------------------------------------------------
    def issue_session(self, user_agent: str = "", address: str = "") -> tuple[str, SessionInfo]:
        """Open a session for a login that passed; returns the cookie value and the session."""
        password = self._current_password()
        if password is None:
            raise RuntimeError("issue_session needs a password to bind the session to")
        return self.sessions.open(password, self.session_s, user_agent, address)

    def session_id(self, value: str | None) -> str | None:
        """The public id of the open session cookie ``value`` names, else None."""
        if not value:
            return None
        password = self._current_password()
        return None if password is None else self.sessions.check(value, password)

    def session_valid(self, value: str | None) -> bool:
        return self.session_id(value) is not None

    def end_session(self, value: str | None) -> None:
        """Log out: the cookie stops working in every process, even if someone kept a copy."""
        self.sessions.end(value)

    # -- requests ------------------------------------------------------------
    def from_trusted_proxy(self, conn: HTTPConnection) -> bool:
        """Whether the peer is one of ``[controlpilot] trusted_proxies`` (its forwarded headers count)."""
        return bool(conn.client) and _in_networks(conn.client.host, self.trusted_proxies)

    def client_address(self, conn: HTTPConnection) -> str:
        """Who the client is: the peer address, or, behind a configured proxy, the nearest untrusted
        address in ``X-Forwarded-For``. Without ``trusted_proxies`` the header is ignored: a client
        cannot pick a new identity per request."""
        peer = conn.client.host if conn.client else "unknown"
        if not self.from_trusted_proxy(conn):
            return peer
        hops = [h.strip() for h in conn.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not _in_networks(hop, self.trusted_proxies):
                return hop
        return hops[0] if hops else peer

    def identify(self, conn: HTTPConnection) -> str | None:
        """Who sent the request: ``"session"``, ``"token:<name>"`` or None."""
        header = conn.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            info = self.tokens.verify(header[7:].strip())
            return f"token:{info.name}" if info else None
        session = self.session_id(conn.cookies.get(SESSION_COOKIE))
        if session is not None:
            conn.state.session_id = session
            return "session"
        return None


def cross_site(conn: HTTPConnection) -> bool:
    """A browser request sent by another site (a CSRF attempt)."""
    if conn.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = conn.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    host = conn.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") != host


async def require_auth(conn: HTTPConnection) -> None:
    """Dependency applied to every router in ``AREA_ROUTERS``.

    ``async`` on purpose: it only reads headers, cached files and (for a session cookie)
    one SQLite row by primary key, all in microseconds, and a sync dependency would cost
    every request a hop through the thread pool.

    Accepts a valid session cookie or API token; refuses state-changing
    requests sent by another site even when login is not required.
    """
    auth: Authenticator = conn.app.state.auth
    is_ws = conn.scope["type"] == "websocket"
    method = "GET" if is_ws else conn.scope.get("method", "GET")
    if (method not in _SAFE_METHODS or is_ws) and cross_site(conn):
        if is_ws:
            raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="cross-site request refused")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused")
    if not auth.required:
        # No login on loopback: a page on another site that re-points its own name at
        # 127.0.0.1 (DNS rebinding) must not read the API, so only local names are served.
        if not names_this_machine(conn.headers.get("host", "")):
            detail = (
                "ControlPilot listens on loopback without a login and answers only to localhost; "
                'behind a proxy under another name, set [controlpilot] auth = "always"'
            )
            if is_ws:
                raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=detail[:120])
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail)
        return
    who = auth.identify(conn)
    if who is None:
        if is_ws:
            raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="login required")
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "login required", headers={"WWW-Authenticate": 'Bearer realm="ControlPilot"'}
        )
    conn.state.user = who

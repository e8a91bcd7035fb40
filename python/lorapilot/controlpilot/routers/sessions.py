"""``/api/auth/sessions``: see the open login sessions and revoke them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from lorapilot.controlpilot.auth import SESSION_COOKIE
from lorapilot.controlpilot.sessions import SessionInfo

router = APIRouter(prefix="/api/auth/sessions", tags=["auth"])


class SessionView(BaseModel):
    """An open session (never its cookie)."""

    id: str
    created: float
    expires: float
    last_seen: float
    user_agent: str
    address: str
    current: bool  # the session this request came with


class Revoked(BaseModel):
    revoked: int


def _mine(request: Request) -> str | None:
    """The public id of the session this request came with (None for an API token)."""
    if "authorization" in request.headers:
        return None
    mine = getattr(request.state, "session_id", None)  # set by require_auth when login is required
    return mine or _auth(request).session_id(request.cookies.get(SESSION_COOKIE))


def _view(info: SessionInfo, mine: str | None) -> SessionView:
    return SessionView(
        id=info.id,
        created=info.created,
        expires=info.expires,
        last_seen=info.last_seen,
        user_agent=info.user_agent,
        address=info.address,
        current=info.id == mine,
    )


def _auth(request: Request):
    return request.app.state.auth


@router.get("")
def list_sessions(request: Request) -> list[SessionView]:
    """Open sessions, newest first (sessions of an older password are left out: they no longer work)."""
    auth = _auth(request)
    password = auth.password()
    mine = _mine(request)
    return [_view(s, mine) for s in auth.sessions.list(password) if s.current_password is not False]


@router.delete("/{session_id}")
def revoke_session(session_id: str, request: Request, response: Response) -> SessionView:
    """End one session (by its id or a unique prefix of at least 4 digits)."""
    mine = _mine(request)
    view = _view(_auth(request).sessions.revoke(session_id), mine)
    if view.current:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return view


@router.delete("")
def revoke_all_sessions(request: Request, keep_current: bool = True) -> Revoked:
    """End every session; the one this request came with is kept unless ``keep_current=false``."""
    keep = _mine(request) if keep_current else None
    return Revoked(revoked=_auth(request).sessions.revoke_all(keep=keep))

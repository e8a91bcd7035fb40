"""``/api/auth/login|logout|session``: public, so the login page can use them."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel

from lorapilot.controlpilot.auth import SESSION_COOKIE, Authenticator, cross_site

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(BaseModel):
    password: str


class SessionInfo(BaseModel):
    """What the web UI needs to decide whether to show the login page."""

    authenticated: bool
    auth_required: bool
    password_set: bool
    via: str | None = None


def _auth(request: Request) -> Authenticator:
    return request.app.state.auth


def _https(request: Request) -> bool:
    forwarded = _auth(request).from_trusted_proxy(request) and request.headers.get("x-forwarded-proto") == "https"
    return request.url.scheme == "https" or forwarded


@router.get("/session")
def session(request: Request) -> SessionInfo:
    """Whether this browser is logged in and whether login is needed at all."""
    auth = _auth(request)
    who = auth.identify(request)
    return SessionInfo(
        authenticated=who is not None or not auth.required,
        auth_required=auth.required,
        password_set=auth.password() is not None,
        via=who,
    )


@router.post("/login")
def login(body: LoginRequest, request: Request, response: Response) -> SessionInfo:
    """Check the password and set an HttpOnly, SameSite=Strict session cookie."""
    auth = _auth(request)
    if cross_site(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused")
    client = auth.client_address(request)
    wait = auth.limiter.retry_after(client)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins; try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    if auth.password() is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "no ControlPilot password is set: add CONTROLPILOT_PASSWORD to config/secrets.env "
            "(`lorapilot init` generates one) or set LORAPILOT_PASSWORD",
        )
    if not auth.check_password(body.password):
        auth.limiter.failed(client)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong password")
    auth.limiter.succeeded(client)
    auth.end_session(request.cookies.get(SESSION_COOKIE))  # a new id for every login; the old one ends
    cookie, _ = auth.issue_session(request.headers.get("user-agent", ""), client)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(auth.session_s),
        httponly=True,
        samesite="strict",
        secure=_https(request),
        path="/",
    )
    return SessionInfo(authenticated=True, auth_required=auth.required, password_set=True, via="session")


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response) -> None:
    """End the session; the cookie is cleared and stops being accepted by every server process."""
    _auth(request).end_session(request.cookies.get(SESSION_COOKIE))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")

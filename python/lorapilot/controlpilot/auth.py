"""Authentication for ControlPilot (issue "ControlPilot" completes this module)."""

from __future__ import annotations

from fastapi import Request


def require_auth(request: Request) -> None:
    """Dependency applied to every router in ``AREA_ROUTERS``.

    Not yet enforcing: the session-cookie / bearer-token check lands with the
    ControlPilot issue; until then ControlPilot must only bind to loopback.
    """
    return None

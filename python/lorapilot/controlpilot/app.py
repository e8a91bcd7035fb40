"""The ControlPilot application factory."""

from __future__ import annotations

import importlib

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from lorapilot import __version__
from lorapilot.context import Context
from lorapilot.controlpilot.auth import require_auth
from lorapilot.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.safepath import PathEscapeError
from lorapilot.tasks import TaskManager

# Routers that need no authentication. Keep this list short.
PUBLIC_ROUTERS = [
    "lorapilot.controlpilot.routers.health:router",
]

# Every other router: one module per area, all behind require_auth.
# Add a line here to plug in an area (e.g. "lorapilot.models.api:router").
AREA_ROUTERS: list[str] = [
    "lorapilot.tagpilot.api:router",
]


def _load(target: str):
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def _error_status(exc: LorapilotError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, PathEscapeError):
        return 400
    return 400


def create_app(ctx: Context, bind_host: str = "127.0.0.1") -> FastAPI:
    """Build the FastAPI app for one workspace."""
    app = FastAPI(title="ControlPilot", version=__version__)
    app.state.ctx = ctx
    app.state.bind_host = bind_host
    app.state.tasks = TaskManager()

    @app.exception_handler(LorapilotError)
    async def _user_error(request: Request, exc: LorapilotError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_error_status(exc))

    for target in PUBLIC_ROUTERS:
        app.include_router(_load(target))
    for target in AREA_ROUTERS:
        app.include_router(_load(target), dependencies=[Depends(require_auth)])
    return app

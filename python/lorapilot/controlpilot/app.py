"""The ControlPilot application factory."""

from __future__ import annotations

import contextlib
import importlib

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from lorapilot import __version__
from lorapilot.controlpilot.aliases import OldUrlAliases
from lorapilot.controlpilot.auth import Authenticator, require_auth
from lorapilot.controlpilot.runtime import Runtime
from lorapilot.controlpilot.webapp import mount_web
from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.safepath import PathEscapeError
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.context import Context
from lorapilot.tools import TOOLS

# Routers that need no authentication. Keep this list short: the route test
# (tests/test_controlpilot_auth_routes.py) fails for any other public route.
PUBLIC_ROUTERS = [
    "lorapilot.controlpilot.routers.health:router",
    "lorapilot.controlpilot.routers.session:router",
]

# Every other router: one module per area, all behind require_auth.
# The tools' routers come from lorapilot.tools.TOOLS.
AREA_ROUTERS: list[str] = [
    "lorapilot.controlpilot.routers.docs:router",
    "lorapilot.controlpilot.routers.tokens:router",
    "lorapilot.controlpilot.routers.sessions:router",
    "lorapilot.controlpilot.routers.services:router",
    "lorapilot.controlpilot.routers.events:router",
    "lorapilot.controlpilot.routers.system:router",
    "lorapilot.controlpilot.routers.files:router",
    "lorapilot.controlpilot.routers.tasks:router",
]


def _load(target: str):
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def _error_status(exc: LorapilotError) -> int:
    if isinstance(getattr(exc, "http_status", None), int):  # an error that names its own status
        return exc.http_status
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, PathEscapeError):
        return 400
    return 400


def create_app(ctx: Context, bind_host: str = "127.0.0.1") -> FastAPI:
    """Build the FastAPI app for one workspace."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.runtime.start_watchers()  # telemetry history starts with the server
        yield
        app.state.runtime.shutdown()

    # OpenAPI and the docs page are served by routers.docs, behind auth.
    app = FastAPI(
        title="ControlPilot", version=__version__, lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.state.ctx = ctx
    app.state.bind_host = bind_host
    app.state.tasks = TaskManager()
    app.state.auth = Authenticator(ctx.workspace, ctx.settings.controlpilot, bind_host)
    app.state.runtime = Runtime(ctx, app.state.tasks)
    app.state.events = app.state.runtime.hub  # what tools publish to (stack.apideps.events_of)

    @app.exception_handler(LorapilotError)
    async def _user_error(request: Request, exc: LorapilotError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_error_status(exc))

    @app.exception_handler(OverflowError)
    async def _number_too_large(request: Request, exc: OverflowError) -> JSONResponse:
        # SQLite holds 64-bit integers: an id of 2^63 or more names nothing (it used to be a 500).
        return JSONResponse(
            {"detail": f"a number in the request is out of range (at most {2**63 - 1}): {exc}"}, status_code=400
        )

    for target in PUBLIC_ROUTERS:
        app.include_router(_load(target))
    for target in AREA_ROUTERS:
        app.include_router(_load(target), dependencies=[Depends(require_auth)])
    for each in TOOLS:
        app.include_router(each.load_router(), dependencies=[Depends(require_auth)])
    mount_web(app)  # last: its fallback answers every path no router claimed
    app.add_middleware(OldUrlAliases, aliases=[pair for each in TOOLS for pair in each.url_aliases])
    return app

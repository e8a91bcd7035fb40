"""The ControlPilot application factory."""

from __future__ import annotations

from fastapi import FastAPI

from lorapilot import __version__
from lorapilot.context import Context


def create_app(ctx: Context, bind_host: str = "127.0.0.1") -> FastAPI:
    """Build the FastAPI app for one workspace."""
    app = FastAPI(title="ControlPilot", version=__version__)
    app.state.ctx = ctx
    app.state.bind_host = bind_host

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    return app

"""An authenticated ControlPilot test client for API tests of every area."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lorapilot.controlpilot.app import create_app
from lorapilot.controlpilot.tokens import TokenStore
from lorapilot.stack.context import Context


def api_token(ctx: Context, name: str = "tests") -> str:
    """A fresh, valid API token for ``ctx``'s workspace."""
    return TokenStore(ctx.workspace).create(name)[1]


def make_client(ctx: Context, bind_host: str = "0.0.0.0") -> TestClient:
    """A TestClient for ``ctx``'s ControlPilot, bound as if reachable from the network
    (so login is enforced), carrying a valid API token (``Authorization: Bearer``).

    Area tests use this so they keep working as auth evolves. Use it as a context
    manager (``with make_client(ctx) as client:``) to also run the app's startup and
    shutdown (background watchers).
    """
    app = create_app(ctx, bind_host=bind_host)
    return TestClient(app, headers={"Authorization": f"Bearer {api_token(ctx)}"})


def make_anonymous_client(ctx: Context, bind_host: str = "0.0.0.0") -> TestClient:
    """A TestClient without credentials (for auth tests)."""
    return TestClient(create_app(ctx, bind_host=bind_host))

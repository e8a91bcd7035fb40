"""An authenticated ControlPilot test client for API tests of every area."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lorapilot.context import Context
from lorapilot.controlpilot.app import create_app


def make_client(ctx: Context, bind_host: str = "0.0.0.0") -> TestClient:
    """A TestClient for ``ctx``'s ControlPilot, bound as if reachable from the network,
    with valid credentials. Area tests use this so they keep working as auth evolves.
    """
    app = create_app(ctx, bind_host=bind_host)
    return TestClient(app)

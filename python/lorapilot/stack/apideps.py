"""FastAPI dependencies any router may use (ControlPilot's and each tool's).

They are ``async`` because they only read ``app.state``: FastAPI runs a sync
dependency in its thread pool, which would cost every request a thread hop.
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import Request

from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.context import Context


class EventPublisher(Protocol):
    """Sends one event to every open ``/api/events`` stream."""

    def publish(self, event: str, data: Any, sticky: bool = False) -> None: ...


async def get_ctx(request: Request) -> Context:
    """The workspace context the app was created for."""
    return request.app.state.ctx


async def get_tasks(request: Request) -> TaskManager:
    """The app's background task manager (downloads, captioning, scans)."""
    return request.app.state.tasks


def events_of(app) -> EventPublisher | None:
    """The app's event publisher, or None in an app that streams no events (tests, the sidecar)."""
    return getattr(app.state, "events", None)

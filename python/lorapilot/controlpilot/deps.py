"""FastAPI dependencies shared by every router.

They are ``async`` because they only read ``app.state``: FastAPI runs a sync
dependency in its thread pool, which would cost every request a thread hop.
"""

from __future__ import annotations

from fastapi import Request

from lorapilot.context import Context
from lorapilot.tasks import TaskManager


async def get_ctx(request: Request) -> Context:
    """The workspace context the app was created for."""
    return request.app.state.ctx


async def get_tasks(request: Request) -> TaskManager:
    """The app's background task manager (downloads, captioning, scans)."""
    return request.app.state.tasks


async def get_runtime(request: Request):
    """The app's live parts (:class:`lorapilot.controlpilot.runtime.Runtime`)."""
    return request.app.state.runtime


async def get_hub(request: Request):
    """The event hub: ``hub.publish(event, data)`` sends to every open ``/api/events`` stream."""
    return request.app.state.runtime.hub


async def get_monitor(request: Request):
    """The service watcher (:class:`lorapilot.controlpilot.monitor.ServiceMonitor`)."""
    return request.app.state.runtime.monitor

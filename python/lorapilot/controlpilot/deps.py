"""FastAPI dependencies of ControlPilot's own routers (the shared ones live in ``stack.apideps``)."""

from __future__ import annotations

from fastapi import Request

from lorapilot.stack.apideps import get_ctx, get_tasks

__all__ = ["get_ctx", "get_hub", "get_monitor", "get_runtime", "get_tasks"]


async def get_runtime(request: Request):
    """The app's live parts (:class:`lorapilot.controlpilot.runtime.Runtime`)."""
    return request.app.state.runtime


async def get_hub(request: Request):
    """The event hub: ``hub.publish(event, data)`` sends to every open ``/api/events`` stream."""
    return request.app.state.runtime.hub


async def get_monitor(request: Request):
    """The service watcher (:class:`lorapilot.controlpilot.monitor.ServiceMonitor`)."""
    return request.app.state.runtime.monitor

"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from fastapi import Request

from lorapilot.context import Context
from lorapilot.tasks import TaskManager


def get_ctx(request: Request) -> Context:
    """The workspace context the app was created for."""
    return request.app.state.ctx


def get_tasks(request: Request) -> TaskManager:
    """The app's background task manager (downloads, captioning, scans)."""
    return request.app.state.tasks


def get_runtime(request: Request):
    """The app's live parts (:class:`lorapilot.controlpilot.runtime.Runtime`)."""
    return request.app.state.runtime


def get_hub(request: Request):
    """The event hub: ``hub.publish(event, data)`` sends to every open ``/api/events`` stream."""
    return request.app.state.runtime.hub


def get_monitor(request: Request):
    """The service watcher (:class:`lorapilot.controlpilot.monitor.ServiceMonitor`)."""
    return request.app.state.runtime.monitor

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

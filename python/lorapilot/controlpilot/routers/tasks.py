"""``/api/tasks``: background work (downloads, captioning, scans) and its progress.

Changes are also pushed as ``tasks`` events on ``/api/events``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from lorapilot.controlpilot.deps import get_tasks
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.apimodels import TaskView

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("")
def list_tasks(kind: str | None = None, tasks: TaskManager = Depends(get_tasks)) -> list[TaskView]:
    """Tasks, newest first (finished ones are kept for a while)."""
    return [TaskView(**t.to_dict()) for t in tasks.list(kind)]


@router.get("/{task_id}")
def get_task(task_id: str, tasks: TaskManager = Depends(get_tasks)) -> TaskView:
    return TaskView(**tasks.get(task_id).to_dict())


@router.post("/{task_id}/cancel")
def cancel_task(task_id: str, tasks: TaskManager = Depends(get_tasks)) -> TaskView:
    """Ask a task to stop; it ends as ``cancelled`` at its next check."""
    return TaskView(**tasks.cancel(task_id).to_dict())

"""Response models shared by the API routers of ControlPilot and of every tool (pydantic at the edges).

Every JSON route declares one of these (or its own subclass) so the OpenAPI schema, and the web UI's
TypeScript types generated from it (``controlpilot/web/src/api/schema.ts``), describe each answer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class ResponseModel(BaseModel):
    """Base of an API answer. The declared fields are the contract; a key the library adds beside them
    still goes out (``extra="allow"``) rather than being dropped silently by the response model. A field
    with a default is always sent, so the schema marks it required (the generated types need no ``?``)."""

    model_config = ConfigDict(extra="allow", json_schema_serialization_defaults_required=True)


TaskStateName = Literal["queued", "running", "done", "failed", "cancelled"]


class TaskView(ResponseModel):
    """A background task (``lorapilot.kit.tasks``): what ``/api/tasks`` and every 202 answer with."""

    id: str
    kind: str
    title: str
    state: TaskStateName
    current: float
    total: float | None
    message: str
    error: str | None
    result: Any = None
    created_at: float
    started_at: float | None
    finished_at: float | None


class TaskRef(ResponseModel):
    """A task just submitted, in short: follow it on ``/api/tasks/{id}`` or the event stream."""

    id: str
    kind: str
    title: str
    state: TaskStateName


class TrashItemView(ResponseModel):
    """An item in the workspace trash (``lorapilot.kit.trash``): restore it by ``id``."""

    id: str
    original: str
    name: str
    is_dir: bool
    size: int
    deleted_at: float
    source: str

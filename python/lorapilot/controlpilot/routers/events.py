"""``GET /api/events``: one Server-Sent Event stream for the whole UI.

Events: ``services`` (the service list, on every change), ``system`` (a
telemetry sample), ``tasks`` (background task progress), and whatever a tool
publishes through ``EventHub.publish``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from lorapilot.controlpilot.deps import get_hub, get_runtime
from lorapilot.controlpilot.events import EventHub
from lorapilot.controlpilot.routers.services import SSE_HEADERS

router = APIRouter(tags=["events"])


@router.get("/api/events", response_class=StreamingResponse)
async def events(request: Request, hub: EventHub = Depends(get_hub), runtime=Depends(get_runtime)) -> StreamingResponse:
    """The live stream: the latest ``services`` and ``system`` events first, then every change."""
    runtime.start_watchers()
    return StreamingResponse(hub.stream(request.is_disconnected), media_type="text/event-stream", headers=SSE_HEADERS)

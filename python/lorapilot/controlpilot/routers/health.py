"""``GET /api/health``: the one route that never needs authentication."""

from fastapi import APIRouter

from lorapilot import __version__
from lorapilot.stack.apimodels import ResponseModel

router = APIRouter()


class Health(ResponseModel):
    status: str
    version: str


@router.get("/api/health")
async def health() -> Health:
    """Liveness: used by the readiness probe and by the login page."""
    return Health(status="ok", version=__version__)

"""``GET /api/health``: the one route that never needs authentication."""

from fastapi import APIRouter

from lorapilot import __version__

router = APIRouter()


@router.get("/api/health")
async def health() -> dict:
    """Liveness: used by the readiness probe and by the login page."""
    return {"status": "ok", "version": __version__}

"""Every route answers 401 without credentials, except the short public list.

The routes are enumerated from the live app, so a route added later without
auth (a public router, or an endpoint registered on the app directly) fails here.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from support.api import make_anonymous_client, make_client

# (method, path) pairs that may answer without credentials: the login page's calls.
PUBLIC = {
    ("GET", "/api/health"),
    ("GET", "/api/auth/session"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
}
# The web UI (page and hashed assets) is public: it holds no data.
SPA_FALLBACK = "/{path:path}"
PUBLIC_MOUNTS = {"/assets"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def flat_routes(app) -> list[tuple[object, str, set[str]]]:
    """(original route, full path, methods) of every route, included routers flattened."""
    try:  # FastAPI >= 0.16x keeps included routers nested
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [(r, r.path, set(getattr(r, "methods", None) or ())) for r in app.routes]
    return [(c.original_route, c.path, set(c.methods or ())) for c in iter_route_contexts(app.routes)]


def unauthenticated_routes(app) -> list[tuple[str, str, int]]:
    """(method, path, status) of every route that did NOT refuse an anonymous request."""
    client = TestClient(app)
    leaks = []
    for route, path, methods in flat_routes(app):
        if isinstance(route, APIRoute):
            if path == SPA_FALLBACK:
                continue
            for method in sorted(methods - {"HEAD"}):
                if (method, path) in PUBLIC:
                    continue
                resp = client.request(method, _concrete(path))
                if resp.status_code != 401:
                    leaks.append((method, path, resp.status_code))
        elif isinstance(route, APIWebSocketRoute):
            try:
                with client.websocket_connect(_concrete(path)):
                    leaks.append(("WS", path, 101))
            except WebSocketDisconnect:
                pass
        elif isinstance(route, Mount):
            if path not in PUBLIC_MOUNTS:
                leaks.append(("MOUNT", path, 0))
        else:  # a starlette Route added with app.add_route: never authenticated
            leaks.append(("ROUTE", str(path), 0))
    return leaks


def test_every_route_but_the_public_ones_requires_auth(ctx):
    client = make_anonymous_client(ctx)
    app = client.app
    api_routes = [r for r, _, _ in flat_routes(app) if isinstance(r, APIRoute)]
    assert len(api_routes) >= 10, "the enumeration must see the area routers"
    assert unauthenticated_routes(app) == []


def test_public_routes_answer_without_credentials(ctx):
    client = make_anonymous_client(ctx)
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/auth/session").json()["authenticated"] is False
    assert client.get("/openapi.json").status_code == 401
    # The page itself is public (it is the login page); unknown API paths are not pages.
    assert client.get("/files").status_code in (200, 503)
    assert client.get("/api/no-such-thing").status_code == 404


def test_the_enumeration_catches_a_route_added_without_auth(ctx):
    client = make_anonymous_client(ctx)
    app = client.app

    @app.get("/api/forgot-auth")
    def forgot() -> dict:
        return {"secret": "leaked"}

    # Routes registered after the SPA fallback still get matched first for this path.
    app.router.routes.insert(0, app.router.routes.pop())
    assert ("GET", "/api/forgot-auth", 200) in unauthenticated_routes(app)


def test_openapi_describes_every_area_for_a_logged_in_client(ctx):
    client = make_client(ctx)
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    for path in (
        "/api/health",
        "/api/services",
        "/api/services/{name}/{action}",
        "/api/services/{name}/logs",
        "/api/services/{name}/logs/stream",
        "/api/events",
        "/api/system",
        "/api/system/history",
        "/api/files",
        "/api/files/upload",
        "/api/files/trash/{item_id}/restore",
        "/api/auth/login",
    ):
        assert path in paths, path
    assert "/{path}" not in paths and "/openapi.json" not in paths  # the page fallback and docs are not API
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text

"""Hostile values in every path parameter, query parameter and body field of every route (enumerated
from app.routes) never make ControlPilot answer 500: ids ≥ 2^63, NUL bytes, 5,000-character paths,
traversal. Loopback only (an in-process TestClient), bounded by the route count."""

from __future__ import annotations

import json
import time
import typing
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from lorapilot.controlpilot.app import create_app
from support.api import api_token
from support.workspaces import make_workspace
from test_controlpilot_auth_routes import flat_routes

HUGE = 2**63
HOSTILE_TEXT = [
    "9223372036854775808",
    "-9223372036854775809",
    "a\x00b",
    "x" * 5000,
    "../../../etc/passwd",
    "/etc/passwd",
    "..",
    "~root",
    "%00",
    "\u202e\ud7ff",
]
# Streams that never end on their own; probing them is what test_controlpilot_auth_routes does.
SKIP = {"/api/events", "/api/services/{name}/logs/stream", "/api/trainpilot/events"}


def _hostile_for(annotation, text: str):
    """A hostile value of the annotated type (a huge int for ints, the text for strings)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and args:
        return _hostile_for(args[0], text)
    if origin in (list, set, tuple):
        return [_hostile_for(args[0] if args else str, text)]
    if origin is dict:
        return {text[:100]: text}
    if annotation is int:
        return HUGE
    if annotation is float:
        return 1e308
    if annotation is bool:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _body(annotation, text)
    return text


def _body(model, text: str) -> dict:
    return {name: _hostile_for(field.annotation, text) for name, field in model.model_fields.items()}


def _cases(route: APIRoute, path: str, text: str):
    url = path
    for param in route.dependant.path_params:
        value = str(HUGE) if param.field_info.annotation is int else text
        url = url.replace("{" + param.name + "}", quote(value, safe=""))
        url = url.replace("{" + param.name + ":path}", quote(value, safe="/"))
    query = {p.name: (str(HUGE) if p.field_info.annotation is int else text) for p in route.dependant.query_params}
    body = None
    if route.body_field is not None:
        annotation = route.body_field.field_info.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
        model = args[0]
        body = _body(model, text) if isinstance(model, type) and issubclass(model, BaseModel) else text
    return url, query, body


@pytest.fixture(scope="module")
def app_and_client(tmp_path_factory):
    ctx = make_workspace(tmp_path_factory.mktemp("fuzz") / "ws", enabled=set())
    (ctx.workspace.root / "datasets" / "ds").mkdir(parents=True)
    app = create_app(ctx, bind_host="0.0.0.0")
    client = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {api_token(ctx)}"})
    yield app, client


def test_no_route_answers_500_to_hostile_values(app_and_client):
    app, client = app_and_client
    failures, sent, started = [], 0, time.monotonic()
    for route, path, methods in flat_routes(app):
        if not isinstance(route, APIRoute) or path in SKIP:
            continue
        for method in sorted(methods - {"HEAD"}):
            for text in HOSTILE_TEXT:
                url, query, body = _cases(route, path, text)
                kwargs = {"params": query}
                if body is not None:
                    kwargs["content"] = json.dumps(body)
                    kwargs["headers"] = {"content-type": "application/json"}
                resp = client.request(method, url, **kwargs)
                sent += 1
                if resp.status_code == 500 or (resp.status_code > 500 and "detail" not in resp.text):
                    failures.append((method, path, repr(text[:20]), resp.status_code, resp.text[:200]))
    assert sent > 1000 and time.monotonic() - started < 600
    assert failures == [], "\n".join(map(str, failures))


@pytest.mark.parametrize(
    "url",
    [
        "/%00",
        "/a%00b",
        "/" + "x" * 5000,
        "/" + "x/" * 2500,
        "/favicon%00.ico",
        "/..%2f..%2fetc%2fpasswd",
    ],
)
def test_the_public_spa_fallback_never_500s(tmp_path, url):
    ctx = make_workspace(tmp_path / "ws", enabled=set())
    client = TestClient(create_app(ctx, bind_host="0.0.0.0"), raise_server_exceptions=False)
    resp = client.get(url)
    assert resp.status_code < 500 or resp.status_code == 503 and "not built" in resp.text.lower(), resp.status_code

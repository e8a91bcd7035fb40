"""Every JSON route of ControlPilot (its own routers and every tool's) declares a pydantic response model.

Routes that answer something else (a file, a thumbnail, a zip, an SSE stream, a proxied body) say so with
an explicit ``response_class=``; a 204 has no body. Anything else (a bare ``dict``, ``list[dict]``, no
annotation) fails here with the route named, so the OpenAPI schema (and the web UI's TypeScript types,
generated from it) stay complete.
"""

from __future__ import annotations

import types
import typing

from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from lorapilot.controlpilot.app import create_app

_SCALARS = (str, int, float, bool)


def _is_pydantic(annotation) -> bool:
    """A model, or a list / dict / union / Annotated of models (None allowed beside one); a list of plain
    scalars (``list[str]``: profile names) or a dict of them (``dict[str, str]``) is a declared shape too. ``dict``, ``Any`` and ``None`` are not."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _is_pydantic(args[0])
    if origin in (list, tuple, set, frozenset):
        return bool(args) and all(a in _SCALARS or _is_pydantic(a) for a in args if a is not Ellipsis)
    if origin is dict:
        return len(args) == 2 and (args[1] in _SCALARS or _is_pydantic(args[1]))
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if a is not type(None)]
        return bool(models) and all(_is_pydantic(a) for a in models)
    return False


def _explicitly_not_json(route: APIRoute) -> bool:
    cls = route.response_class
    return not isinstance(cls, DefaultPlaceholder) and not issubclass(cls, JSONResponse)


def _api_routes(app) -> list[APIRoute]:
    """``app.routes`` flattened: FastAPI >= 0.16x keeps each included router as one entry."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is flat already
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c.original_route for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def _undeclared(app) -> list[str]:
    missing = []
    routes = _api_routes(app)
    assert len(routes) > 100, "the walk must see every area's and every tool's routes"
    for route in routes:
        if not route.include_in_schema:
            continue
        if route.status_code == 204 or _explicitly_not_json(route):
            continue
        if not _is_pydantic(route.response_model):
            where = f"{route.endpoint.__module__}.{route.endpoint.__qualname__}"
            missing.append(f"{sorted(route.methods)} {route.path} ({where}): response_model={route.response_model!r}")
    return missing


def test_every_json_route_declares_a_pydantic_response_model(ctx):
    missing = _undeclared(create_app(ctx))
    assert not missing, "routes without a declared pydantic response model:\n" + "\n".join(missing)


def test_the_check_itself_tells_a_model_from_a_bare_dict():
    class Item(BaseModel):
        name: str

    assert _is_pydantic(Item) and _is_pydantic(list[Item]) and _is_pydantic(dict[str, Item])
    assert _is_pydantic(Item | None) and _is_pydantic(typing.Optional[list[Item]])  # noqa: UP045 - Optional is what is being tested
    assert not _is_pydantic(dict) and not _is_pydantic(list[dict]) and not _is_pydantic(None)
    assert _is_pydantic(list[str]) and _is_pydantic(dict[str, str])
    assert not _is_pydantic(typing.Any) and not _is_pydantic(str) and not _is_pydantic(dict[str, typing.Any])

"""``/api/models/search``, ``/hub/...``, ``/updates``: CivitAI and Hugging Face over HTTP.

Thin: the work is in :mod:`.browse` and :mod:`.updates`; a pull of a result is
``POST /api/models/pull`` with the version's ``pull`` string. Tokens come from
secrets.env and never leave the server.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.apideps import get_ctx, get_tasks
from lorapilot.stack.context import Context
from lorapilot.tools.models.browse import HubModel, SearchPage, SearchQuery, Site, Sort
from lorapilot.tools.models.updates import UpdateCheck

router = APIRouter(tags=["models"])  # api.py mounts it under /api/models
UPDATES_FILE = "model-updates.json"  # under the workspace cache: the last check, for the badges


class TaskStarted(BaseModel):
    """A task as the task list shows it; follow it on /api/models/tasks/{id}."""

    id: str
    kind: str
    title: str
    state: str
    current: float = 0
    total: float | None = None
    message: str = ""
    error: str | None = None
    result: Any = None


class UpdatesReport(BaseModel):
    checked_at: float | None = None
    models: list[UpdateCheck]


def _store(ctx: Context):
    from lorapilot.tools.models.store import ModelStore

    return ModelStore.for_context(ctx)


def _tokens(ctx: Context) -> dict[str, str]:
    from lorapilot.tools.models.pull import tokens_for

    return tokens_for(ctx.workspace)


@router.get("/search")
def search_hub(
    site: Site = "civitai",
    query: str = "",
    type: str | None = Query(default=None, description="store folder: loras, checkpoints, ..."),
    family: str | None = Query(default=None, description="base family: sd1, sdxl, flux1, ..."),
    sort: Sort = "downloads",
    nsfw: bool = False,
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = None,
    ctx: Context = Depends(get_ctx),
) -> SearchPage:
    """Search CivitAI or the Hugging Face Hub; each version carries the `pull` source for /api/models/pull."""
    from lorapilot.tools.models import sources
    from lorapilot.tools.models.browse import search

    store = _store(ctx)
    spec = SearchQuery(
        site=site,
        query=query,
        type=type or None,
        family=family or None,
        sort=sort,
        nsfw=nsfw,
        limit=limit,
        cursor=cursor,
    )
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        return search(spec, _tokens(ctx))


@router.get("/hub/civitai/{model_id}")
def civitai_model(model_id: int, nsfw: bool = False, ctx: Context = Depends(get_ctx)) -> HubModel:
    """One CivitAI model with every version, its files, hashes, images and trigger words."""
    from lorapilot.tools.models import sources
    from lorapilot.tools.models.browse import civitai_details

    store = _store(ctx)
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        return civitai_details(model_id, _tokens(ctx), nsfw)


@router.get("/hub/hf/{repo_id:path}")
def hf_repo(repo_id: str, revision: str = "main", ctx: Context = Depends(get_ctx)) -> HubModel:
    """One Hugging Face repo: its model files with sizes and sha256, sample images, trigger words."""
    from lorapilot.tools.models import sources
    from lorapilot.tools.models.browse import hf_details

    store = _store(ctx)
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        return hf_details(repo_id, _tokens(ctx), revision)


@router.get("/updates")
def last_updates(ctx: Context = Depends(get_ctx)) -> UpdatesReport:
    """The last update check (empty before the first); POST starts a new one."""
    path = ctx.workspace.cache / UPDATES_FILE
    try:
        return UpdatesReport.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UpdatesReport(models=[])


@router.post("/updates", status_code=202)
def check_updates(ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)) -> TaskStarted:
    """Check every model for a newer version (CivitAI by hash, Hub by revision) as a task."""
    import time

    from lorapilot.tools.models.updates import check_updates as run_check

    store = _store(ctx)
    tokens = _tokens(ctx)

    def work(progress, cancel):
        checks = run_check(store, tokens, progress=progress, cancel=cancel)
        report = UpdatesReport(checked_at=time.time(), models=checks)
        ctx.workspace.cache.mkdir(parents=True, exist_ok=True)
        atomic_write_text(ctx.workspace.cache / UPDATES_FILE, report.model_dump_json(indent=1))
        return json.loads(report.model_dump_json())

    return TaskStarted(**tasks.submit("models.updates", "check models for updates", work).to_dict())

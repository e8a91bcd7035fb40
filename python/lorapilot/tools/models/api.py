"""``/api/models...``: the model store over HTTP (a thin shell over the library).

Long work (pulls, hashing, InvokeAI registration) runs as a task of the app's
:class:`~lorapilot.kit.tasks.TaskManager`; the UI follows it on the task stream,
or on ``GET /api/models/tasks/{id}``, and cancels it with ``POST .../cancel``.
Paths are the ``path`` values the listing returns (or relative to
``models/``); anything outside the store roots is refused.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from lorapilot.kit.errors import LorapilotError, NotFoundError
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.apideps import get_ctx, get_tasks
from lorapilot.stack.apimodels import TaskView
from lorapilot.stack.context import Context
from lorapilot.stack.workspace.layout import MODEL_FOLDERS
from lorapilot.tools.models.api_models import (
    HashRequest,
    ManifestView,
    ModelInspection,
    ModelList,
    ModelPath,
    ModelRenameRequest,
    ModelsTrashed,
    ModelTasks,
    ModelTrash,
    ModelTypes,
    MoveRequest,
    PathRequest,
    PullRequest,
)
from lorapilot.tools.models.detect import FAMILIES, KINDS
from lorapilot.tools.models.store import ModelStore, training_card

router = APIRouter(prefix="/api/models", tags=["models"])
TASK_KINDS = ("models.pull", "models.hash", "models.sync-invokeai", "models.updates")


def _store(ctx: Context) -> ModelStore:
    return ModelStore.for_context(ctx)


@router.get("")
def list_models(
    type: str | None = Query(default=None, description="store folder"),
    family: str | None = None,
    kind: str | None = None,
    ctx: Context = Depends(get_ctx),
) -> ModelList:
    """Every model (header-inspected, cached hashes only; hashing is a task)."""
    store = _store(ctx)
    entries = store.list(folder=type, family=family, kind=kind)
    return {
        "models": [e.to_dict() for e in entries],
        "unhashed": sum(1 for e in entries if e.sha256 is None and e.format != "diffusers"),
        "roots": [str(r) for r in store.roots],
        "unreachable_roots": [str(r) for r in store.unreachable_roots()],
    }


@router.get("/types")
def types() -> ModelTypes:
    """Store folders, base families and kinds, for filters and pickers."""
    return {"folders": list(MODEL_FOLDERS), "families": FAMILIES, "kinds": list(KINDS)}


@router.get("/inspect")
def inspect(path: str, ctx: Context = Depends(get_ctx)) -> ModelInspection:
    """Header details, training metadata, the tag-frequency table and TrainPilot's training card of one model."""
    from lorapilot.tools.models.inspect import inspect_file

    store = _store(ctx)
    _, real = store.resolve(path)
    if real.is_dir():
        raise LorapilotError(f"{path} is a diffusers folder; inspect one of its files")
    report = inspect_file(real)
    report["hashes"] = store.cached_hashes(real)
    report["card"] = training_card(real)
    return report


@router.post("/move")
def move(body: MoveRequest, ctx: Context = Depends(get_ctx)) -> ModelPath:
    return {"path": str(_store(ctx).move(body.path, body.to_type))}


@router.post("/rename")
def rename(body: ModelRenameRequest, ctx: Context = Depends(get_ctx)) -> ModelPath:
    return {"path": str(_store(ctx).rename(body.path, body.name))}


@router.post("/delete")
def delete(body: PathRequest, ctx: Context = Depends(get_ctx)) -> ModelsTrashed:
    """Move a model and its sidecars to the trash."""
    return {"trashed": [item.to_dict() for item in _store(ctx).delete(body.path)]}


@router.get("/trash")
def trash(ctx: Context = Depends(get_ctx)) -> ModelTrash:
    return {"items": _store(ctx).trash_items()}


@router.post("/trash/{item_id}/restore")
def restore(item_id: str, ctx: Context = Depends(get_ctx)) -> ModelPath:
    return {"path": str(_store(ctx).restore(item_id))}


@router.get("/manifest")
def manifest(ctx: Context = Depends(get_ctx)) -> ManifestView:
    """The named models of config/models.toml, for one-click pulls."""
    from lorapilot.tools.models.manifest import load_manifest

    loaded = load_manifest(ctx.workspace)
    return {"path": str(loaded.path), "models": {name: entry.model_dump() for name, entry in loaded.models.items()}}


@router.post("/pull", status_code=202)
def pull(body: PullRequest, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)) -> TaskView:
    """Start a download task; follow it on /api/models/tasks/{id}."""
    from lorapilot.tools.models.pull import pull as pull_source
    from lorapilot.tools.models.pull import pull_manifest
    from lorapilot.tools.models.sources import SourceError

    if bool(body.source) == bool(body.manifest):
        raise LorapilotError("give either source or manifest")
    if body.type is not None and body.type not in MODEL_FOLDERS:
        raise LorapilotError(f"unknown model type {body.type!r}")
    if body.manifest:
        from lorapilot.tools.models.manifest import load_manifest

        load_manifest(ctx.workspace).get(body.manifest)  # a wrong name fails now, not in the task
    elif not body.source.strip():
        raise SourceError("empty source")
    store = _store(ctx)

    def work(progress, cancel):
        from lorapilot.tools.models.invokeai import register_new_models

        if body.manifest:
            results = pull_manifest(store, body.manifest, progress, cancel)
        else:
            results = [pull_source(store, body.source, body.type, progress, cancel)]
        if any(r.placed for r in results):
            progress(1, 1, "registering with InvokeAI")
            register_new_models(ctx)  # InvokeAI keeps its own list: show it the new model now, if it runs
        return [r.to_dict() for r in results]

    task = tasks.submit("models.pull", f"pull {body.manifest or body.source}", work)
    return task.to_dict()


@router.post("/hash", status_code=202)
def hash_models(
    body: HashRequest, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> TaskView:
    """Start hashing (sha256 / AutoV2 / addnet) the given models, or every unhashed one."""
    store = _store(ctx)
    wanted = None
    if body.paths is not None:
        wanted = {str(store.resolve(p)[1]) for p in body.paths}

    def work(progress, cancel):
        entries = [e for e in store.list() if wanted is None or e.path in wanted]
        store.hash_entries(entries, progress, cancel)
        return {"hashed": len(entries)}

    return tasks.submit("models.hash", "hash models", work).to_dict()


@router.post("/sync-invokeai", status_code=202)
def sync_invokeai(ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)) -> TaskView:
    """Register the store with InvokeAI in place (what the post-start task does)."""
    from lorapilot.tools.models.invokeai import sync_for_context

    def work(progress, cancel):
        return sync_for_context(ctx, progress=progress, cancel=cancel).to_dict()

    return tasks.submit("models.sync-invokeai", "register models with InvokeAI", work).to_dict()


def _model_task(tasks: TaskManager, task_id: str):
    task = tasks.get(task_id)
    if task.kind not in TASK_KINDS:
        raise NotFoundError(f"no model task {task_id!r}")
    return task


@router.get("/tasks")
def list_tasks(tasks: TaskManager = Depends(get_tasks)) -> ModelTasks:
    return {"tasks": [t.to_dict() for t in tasks.list() if t.kind in TASK_KINDS]}


@router.get("/tasks/{task_id}")
def get_task(task_id: str, tasks: TaskManager = Depends(get_tasks)) -> TaskView:
    return _model_task(tasks, task_id).to_dict()


@router.post("/tasks/{task_id}/cancel")
def cancel_task(task_id: str, tasks: TaskManager = Depends(get_tasks)) -> TaskView:
    _model_task(tasks, task_id)
    return tasks.cancel(task_id).to_dict()


# CivitAI / Hugging Face search and update checks (api_hub.py), under the same prefix.
from lorapilot.tools.models.api_hub import router as _hub_router  # noqa: E402

router.include_router(_hub_router)

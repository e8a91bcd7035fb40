"""``/api/mediapilot/...``: search, details, files (with range requests), thumbnails, organise, scan, send to ComfyUI."""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from lorapilot.kit.errors import LorapilotError, NotFoundError
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.apideps import events_of, get_ctx, get_tasks
from lorapilot.stack.apimodels import TaskRef
from lorapilot.stack.context import Context
from lorapilot.tools.mediapilot import organise
from lorapilot.tools.mediapilot.api_models import (
    BatchResultView,
    ChangedCount,
    ComfyQueued,
    ComfyWorkflow,
    CompareResult,
    EmptyTrashBody,
    FavouriteBody,
    Ids,
    MediaDetail,
    MediaEmptyTrashResult,
    MediaPage,
    MediaRoot,
    MediaStats,
    MediaTagCount,
    MediaTrash,
    RootAdded,
    RootBody,
    RootRemoved,
    SendBody,
    SuggestValue,
    TagBody,
    TransferBody,
    ZipLink,
)
from lorapilot.tools.mediapilot.library import MediaLibrary

THUMB_CACHE = "public, max-age=31536000, immutable"
_lock = threading.Lock()


def _library(app) -> MediaLibrary:
    with _lock:
        lib = getattr(app.state, "media_library", None)
        if lib is None:
            lib = app.state.media_library = MediaLibrary.open(app.state.ctx)
        return lib


@asynccontextmanager
async def _lifespan(app):
    """Start the watcher with ControlPilot (when ``[mediapilot] watch`` is on) and stop it on shutdown."""
    watcher = None
    ctx = getattr(app.state, "ctx", None)
    if ctx is not None and ctx.settings.mediapilot.watch:
        from lorapilot.tools.mediapilot.watch import Watcher

        events = events_of(app)

        def publish(report) -> None:  # the gallery refreshes live on the shared event stream
            if events is not None:
                events.publish("media", report.to_dict())

        watcher = app.state.media_watcher = Watcher(_library(app), on_batch=publish).start()
    try:
        yield
    finally:
        if watcher is not None:
            watcher.stop()
        lib = getattr(app.state, "media_library", None)
        if lib is not None:
            lib.close()
            app.state.media_library = None


router = APIRouter(prefix="/api/mediapilot", tags=["mediapilot"], lifespan=_lifespan)


def get_library(request: Request) -> MediaLibrary:
    return _library(request.app)


def _item(row, roots: dict) -> dict:
    data = dict(row)
    data["root"] = roots.get(row["root_id"], ("", "?"))[1]
    data["version"] = f"{row['size']:x}-{row['mtime_ns']:x}"  # changes when the file does: thumbnail URLs use it
    return data


@router.get("/search")
def search(
    q: str = "",
    sort: Literal["date", "name", "size"] = "date",
    order: Literal["asc", "desc"] = "desc",
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    total: bool = False,
    lib: MediaLibrary = Depends(get_library),
) -> MediaPage:
    """One page of results for a search in the query language."""
    from lorapilot.tools.mediapilot.query import search as run_search

    page = run_search(lib.index.read(), q, sort, order, cursor, limit, with_total=total)
    roots = lib.index.roots()
    return {"items": [_item(r, roots) for r in page.rows], "next_cursor": page.next_cursor, "total": page.total}


@router.get("/stats")
def stats(lib: MediaLibrary = Depends(get_library)) -> MediaStats:
    conn = lib.index.read()
    counts = conn.execute(
        "SELECT count(*), sum(trash_id IS NOT NULL), sum(error IS NOT NULL AND trash_id IS NULL), "
        "sum(fav AND trash_id IS NULL) FROM media"
    ).fetchone()
    return {
        "total": (counts[0] or 0) - (counts[1] or 0),
        "trashed": counts[1] or 0,
        "flagged": counts[2] or 0,
        "favourites": counts[3] or 0,
        "roots": [{"id": r.id, "label": r.label, "path": str(r.path), "present": r.path.is_dir()} for r in lib.roots()],
    }


@router.get("/suggest")
def suggest(
    field: Literal["model", "lora", "sampler", "scheduler", "tag", "source"],
    prefix: str = "",
    limit: int = Query(20, ge=1, le=200),
    lib: MediaLibrary = Depends(get_library),
) -> list[SuggestValue]:
    """Values of a field with their counts, for the search box's autocomplete."""
    conn = lib.index.read()
    like = organise_like(prefix)
    if field == "lora":
        sql = (
            "SELECT l.name, count(*) FROM media_lora l JOIN media m ON m.id = l.media_id WHERE m.trash_id IS NULL "
            "AND l.name LIKE ? ESCAPE '\\' GROUP BY l.name ORDER BY count(*) DESC LIMIT ?"
        )
    elif field == "tag":
        sql = (
            "SELECT g.tag, count(*) FROM media_tag g JOIN media m ON m.id = g.media_id WHERE m.trash_id IS NULL "
            "AND g.tag LIKE ? ESCAPE '\\' GROUP BY g.tag ORDER BY count(*) DESC LIMIT ?"
        )
    else:
        sql = (
            f"SELECT {field}, count(*) FROM media WHERE trash_id IS NULL AND {field} LIKE ? ESCAPE '\\' "
            f"GROUP BY {field} ORDER BY count(*) DESC LIMIT ?"
        )
    return [{"value": r[0], "count": r[1]} for r in conn.execute(sql, (like, limit))]


def organise_like(prefix: str) -> str:
    return "%" + prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@router.get("/trash")
def trash_list(lib: MediaLibrary = Depends(get_library)) -> MediaTrash:
    return {"items": organise.trash_list(lib), "keep_days": lib.settings.trash_keep_days}


@router.post("/trash")
def trash(body: Ids, lib: MediaLibrary = Depends(get_library)) -> BatchResultView:
    return organise.trash(lib, body.ids).to_dict()


@router.post("/trash/restore")
def restore(body: Ids, lib: MediaLibrary = Depends(get_library)) -> BatchResultView:
    return organise.restore(lib, body.ids).to_dict()


@router.post("/trash/empty")
def empty_trash(body: EmptyTrashBody, lib: MediaLibrary = Depends(get_library)) -> MediaEmptyTrashResult:
    """The only way media is deleted for good: explicit, by the policy or everything."""
    return organise.empty_trash(lib, everything=body.all, older_than_days=body.older_than_days)


@router.post("/favourite")
def favourite(body: FavouriteBody, lib: MediaLibrary = Depends(get_library)) -> ChangedCount:
    return {"changed": organise.set_favourite(lib, body.ids, body.value)}


@router.post("/tags")
def tags(body: TagBody, lib: MediaLibrary = Depends(get_library)) -> ChangedCount:
    return {"changed": organise.tag(lib, body.ids, body.add, body.remove)}


@router.get("/tags")
def tag_list(lib: MediaLibrary = Depends(get_library)) -> list[MediaTagCount]:
    return [{"tag": t, "count": n} for t, n in organise.all_tags(lib)]


@router.post("/move")
def move(body: TransferBody, lib: MediaLibrary = Depends(get_library)) -> BatchResultView:
    return organise.move(lib, body.ids, body.dest).to_dict()


@router.post("/copy")
def copy(body: TransferBody, lib: MediaLibrary = Depends(get_library)) -> BatchResultView:
    return organise.copy(lib, body.ids, body.dest).to_dict()


@router.get("/compare")
def compare(ids: str, lib: MediaLibrary = Depends(get_library)) -> CompareResult:
    return organise.compare(lib, _parse_ids(ids), lib.index.read())


def _parse_ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise LorapilotError(f"ids must be numbers separated by commas, got {text[:40]!r}") from None


def _zip_response(lib: MediaLibrary, ids: list[int]) -> StreamingResponse:
    stream = organise.zip_stream(lib, ids)
    first = next(stream)  # fail before the headers go out when the selection is bad

    def body():
        yield first
        yield from stream

    return StreamingResponse(
        body(), media_type="application/zip", headers={"Content-Disposition": 'attachment; filename="mediapilot.zip"'}
    )


@router.get("/zip", response_class=StreamingResponse)
def zip_get(ids: str, lib: MediaLibrary = Depends(get_library)) -> StreamingResponse:
    """A zip of the selection, streamed (a browser download link)."""
    return _zip_response(lib, _parse_ids(ids))


ZIP_SELECTION_TTL_S = 600.0


def _zip_selections(app) -> dict[str, tuple[list[int], float]]:
    """token -> (ids, expiry on the monotonic clock); call with ``_lock`` held."""
    selections = getattr(app.state, "media_zip_selections", None)
    if selections is None:
        selections = app.state.media_zip_selections = {}
    return selections


@router.post("/zip/selection")
def zip_selection(body: Ids, request: Request, lib: MediaLibrary = Depends(get_library)) -> ZipLink:
    """Remember a selection and answer a short download link for its zip, valid ten minutes.

    A link with thousands of ids in it would pass the 8-16 KB that proxies in front of a rented GPU
    (nginx, Cloudflare) allow in a URL; this one stays short whatever the selection.
    """
    ids = organise.check_selection(lib, body.ids)
    now = time.monotonic()
    with _lock:
        selections = _zip_selections(request.app)
        for key in [k for k, (_, expires) in selections.items() if expires < now]:
            del selections[key]
        token = secrets.token_urlsafe(16)
        selections[token] = (ids, now + ZIP_SELECTION_TTL_S)
    return {"url": f"/api/mediapilot/zip/{token}", "count": len(ids), "expires_in_s": ZIP_SELECTION_TTL_S}


@router.get("/zip/{token}", response_class=StreamingResponse)
def zip_selected(token: str, request: Request, lib: MediaLibrary = Depends(get_library)) -> StreamingResponse:
    """The zip of a selection remembered by ``POST /zip/selection`` (a download link the browser follows)."""
    with _lock:
        ids, expires = _zip_selections(request.app).get(token, (None, 0.0))
    if ids is None or expires < time.monotonic():
        raise NotFoundError("this zip link has expired or is unknown: select the items and press Zip again")
    return _zip_response(lib, ids)


@router.post("/zip", response_class=StreamingResponse)
def zip_post(body: Ids, lib: MediaLibrary = Depends(get_library)) -> StreamingResponse:
    return _zip_response(lib, body.ids)


@router.post("/scan")
def scan(
    ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks), lib: MediaLibrary = Depends(get_library)
) -> TaskRef:
    """A full rescan as a background task (progress over /api/tasks)."""
    return _scan_task(tasks, lib, "Scan media")


def _scan_task(tasks: TaskManager, lib: MediaLibrary, title: str) -> TaskRef:
    task = tasks.submit("media-scan", title, lambda progress, cancel: lib.scan(progress, cancel).to_dict())
    # Not Task.to_dict(): dataclasses.asdict would deep-copy the task's threading.Event.
    return TaskRef(id=task.id, kind=task.kind, title=task.title, state=task.state)


@router.get("/roots")
def roots_list(lib: MediaLibrary = Depends(get_library)) -> list[MediaRoot]:
    """Every root with its file count and whether it is reachable."""
    from lorapilot.tools.mediapilot.roots import list_roots

    return list_roots(lib)


@router.post("/roots")
def roots_add(
    body: RootBody, tasks: TaskManager = Depends(get_tasks), lib: MediaLibrary = Depends(get_library)
) -> RootAdded:
    """Add an extra root (written to config/lorapilot.toml) and scan it as a task with progress."""
    from lorapilot.tools.mediapilot.roots import add_root

    root = add_root(lib, body.path, trusted=False)  # outside the workspace: only the CLI or settings file
    return {"root": root, "task": _scan_task(tasks, lib, f"Scan new media root {root['label']}")}


@router.post("/roots/remove")
def roots_remove(body: RootBody, lib: MediaLibrary = Depends(get_library)) -> RootRemoved:
    """Stop indexing an extra root (files stay on disk; favourites and tags return if it is re-added)."""
    from lorapilot.tools.mediapilot.roots import remove_root

    return remove_root(lib, body.path)


@router.get("/{media_id}")
def detail(media_id: int, lib: MediaLibrary = Depends(get_library)) -> MediaDetail:
    data = lib.detail(media_id)
    data["version"] = f"{data['size']:x}-{data['mtime_ns']:x}"
    return data


@router.get("/{media_id}/raw")
def raw(media_id: int, lib: MediaLibrary = Depends(get_library)) -> dict[str, str]:
    """The raw metadata chunks as stored (key -> text)."""
    return lib.raw_chunks(media_id)


@router.get("/{media_id}/workflow", response_model=ComfyWorkflow)
def workflow(media_id: int, lib: MediaLibrary = Depends(get_library)) -> JSONResponse:
    """The ComfyUI workflow (UI graph, else the API graph) to open or drop into ComfyUI."""
    from lorapilot.tools.mediapilot.comfy_send import stored_workflow

    graph, ui = stored_workflow(lib, media_id)
    return JSONResponse(
        ui or graph, headers={"Content-Disposition": f'attachment; filename="workflow-{media_id}.json"'}
    )


@router.get("/{media_id}/file", response_class=FileResponse)
def file(media_id: int, lib: MediaLibrary = Depends(get_library)) -> FileResponse:
    """The file itself; ``Range`` requests are honoured (video seeking)."""
    row = lib.row(media_id)
    if row["trash_id"]:
        raise LorapilotError(f"media item {media_id} is in the trash")
    media_type = {
        "png": "image/png",
        "jpeg": "image/jpeg",
        "webp": "image/webp",
        "mp4": "video/mp4",
        "webm": "video/webm",
    }.get(row["format"] or "", "application/octet-stream")
    return FileResponse(lib.path_of(row), media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/{media_id}/thumb", response_class=FileResponse)
def thumb(
    media_id: int, size: int = Query(256, ge=16, le=2048), lib: MediaLibrary = Depends(get_library)
) -> FileResponse:
    """A WebP thumbnail; URLs carry ``?v=<version>`` so they can be cached for a year."""
    from lorapilot.tools.mediapilot.thumbs import thumbnail

    path = thumbnail(lib, media_id, size)
    return FileResponse(path, media_type="image/webp", headers={"Cache-Control": THUMB_CACHE})


@router.post("/{media_id}/send-to-comfy")
def send_to_comfy(
    media_id: int, body: SendBody, ctx: Context = Depends(get_ctx), lib: MediaLibrary = Depends(get_library)
) -> ComfyQueued:
    from lorapilot.tools.mediapilot.comfy_send import comfy_url
    from lorapilot.tools.mediapilot.comfy_send import send_to_comfy as send

    return send(lib, media_id, body.url or comfy_url(ctx))

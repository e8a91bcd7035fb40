"""``/api/tagpilot/...``: TagPilot's HTTP API, a thin shell over the library.

Long work (imports, captioning, checks, export) runs as a task (``lorapilot.kit.tasks``);
the reply is the task, which the UI follows (and cancels) on ``/api/tasks`` and the event stream.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse

from lorapilot.kit.archive import ArchiveLimits, UnsafeArchiveError, check_zip
from lorapilot.kit.errors import ConfigError, LorapilotError, NotFoundError
from lorapilot.kit.safepath import resolve_inside
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.apideps import get_ctx, get_tasks
from lorapilot.stack.apimodels import TaskView, TrashItemView
from lorapilot.stack.context import Context
from lorapilot.stack.workspace.secrets import delete_secret, read_secrets, set_secret
from lorapilot.tools.tagpilot import api_models as m
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot import edits
from lorapilot.tools.tagpilot.captions import join_tags
from lorapilot.tools.tagpilot.index import autocomplete, dataset_stats, dataset_tag_frequency, scan, tag_frequency
from lorapilot.tools.tagpilot.metadata import mark_regularization, read_meta
from lorapilot.tools.tagpilot.query import parse_query
from lorapilot.tools.tagpilot.tags import make_op

router = APIRouter(prefix="/api/tagpilot", tags=["tagpilot"])
PREFIX = "/datasets/{name}"


def _ds(ctx: Context, name: str) -> datasets.Dataset:
    return datasets.open_dataset(ctx.workspace, name)


def _task(task) -> TaskView:
    return TaskView(**task.to_dict())  # the routes answer 202 (status_code on each)


# -- datasets ----------------------------------------------------------------------------------


@router.get("/datasets")
def list_datasets(ctx: Context = Depends(get_ctx)) -> list[m.DatasetSummary]:
    """Every dataset with its image and caption counts."""
    out = []
    for ds in datasets.list_datasets(ctx.workspace):
        records = scan(ds, with_sizes=False)
        out.append(
            {
                "name": ds.name,
                "images": len(records),
                "captioned": sum(1 for r in records if r.captioned),
                "regularization": _is_regularization(ds),
            }
        )
    return out


@router.post("/datasets", status_code=201)
def create_dataset(body: m.CreateDataset, ctx: Context = Depends(get_ctx)) -> m.DatasetStats:
    ds = datasets.create_dataset(ctx.workspace, body.name)
    return dataset_stats(ds)


@router.get(PREFIX)
def get_dataset(name: str, ctx: Context = Depends(get_ctx)) -> m.DatasetStats:
    """Counts, sizes, aspect ratios and captioned share, and whether it is a regularization set."""
    ds = _ds(ctx, name)
    return m.DatasetStats(**dataset_stats(ds), regularization=_is_regularization(ds))


def _is_regularization(ds: datasets.Dataset) -> bool:
    try:
        return read_meta(ds).regularization
    except ConfigError:  # a broken dataset.json is reported where it is written; the list still loads
        return False


@router.put(PREFIX + "/regularization")
def put_regularization(name: str, body: m.MarkRegularization, ctx: Context = Depends(get_ctx)) -> m.DatasetMetaOut:
    """Mark the dataset as a regularization (class image) set, or unmark it."""
    meta = mark_regularization(_ds(ctx, name), body.regularization)
    return m.DatasetMetaOut(name=name, regularization=meta.regularization)


@router.post(PREFIX + "/rename")
def rename_dataset(name: str, body: m.RenameDataset, ctx: Context = Depends(get_ctx)) -> m.DatasetName:
    ds = datasets.rename_dataset(ctx.workspace, name, body.name)
    return {"name": ds.name}


@router.delete(PREFIX)
def delete_dataset(name: str, ctx: Context = Depends(get_ctx)) -> TrashItemView:
    """Move the dataset to the trash; the reply names the trash item to restore."""
    return datasets.delete_dataset(ctx.workspace, name).to_dict()


# -- import ------------------------------------------------------------------------------------


@router.post(PREFIX + "/import/folder", status_code=202)
def import_folder(
    name: str, body: m.ImportFolder, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> TaskView:
    """Import a folder inside the workspace, as a task."""
    from lorapilot.tools.tagpilot.importer import check_import_source
    from lorapilot.tools.tagpilot.importer import import_folder as run

    ds = _ds(ctx, name)
    source = check_import_source(ds, resolve_inside(ctx.workspace.root, body.path, must_exist=True))
    task = tasks.submit(
        "tagpilot.import",
        f"import {source.name} into {name}",
        lambda progress, cancel: run(ds, source, body.move, progress, cancel).to_dict(),
    )
    return _task(task)


@router.post(PREFIX + "/import/zip", status_code=202)
async def import_zip(
    name: str, request: Request, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> TaskView:
    """Import a zip sent as the raw request body. A hostile zip is refused at once with the reason."""
    from lorapilot.tools.tagpilot.importer import import_zip as run

    ds = _ds(ctx, name)
    upload_dir = ctx.workspace.cache / "uploads"
    upload_dir.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(dir=upload_dir, suffix=".zip", delete=False)
    path = Path(tmp.name)
    limit = ArchiveLimits().max_total_bytes  # a zip is never larger than what it may expand to
    try:
        with tmp:
            async for chunk in request.stream():
                if tmp.tell() + len(chunk) > limit:
                    raise UnsafeArchiveError(f"upload larger than {limit} bytes")
                tmp.write(chunk)
        check_zip(path)
    except (UnsafeArchiveError, OSError):
        path.unlink(missing_ok=True)
        raise

    def work(progress, cancel):
        try:
            return run(ds, path, progress=progress, cancel=cancel).to_dict()
        finally:
            path.unlink(missing_ok=True)

    return _task(tasks.submit("tagpilot.import", f"import zip into {name}", work))


@router.post(PREFIX + "/files/{filename}")
async def upload_file(
    name: str, filename: str, request: Request, ctx: Context = Depends(get_ctx)
) -> m.ImportReportView:
    """Upload one image, video clip (read by ffprobe; refused when unreadable) or caption file as the raw request body."""
    from starlette.concurrency import run_in_threadpool

    from lorapilot.tools.tagpilot.importer import MAX_UPLOAD_BYTES, import_upload

    ds = _ds(ctx, name)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_UPLOAD_BYTES:
            spool.close()
            raise LorapilotError(f"{filename}: larger than the upload limit of {MAX_UPLOAD_BYTES} bytes")
        spool.write(chunk)
    spool.seek(0)
    with spool:
        return (await run_in_threadpool(import_upload, ds, filename, spool)).to_dict()


# -- images and captions -------------------------------------------------------------------------


@router.get(PREFIX + "/images")
def list_images(
    name: str, q: str | None = None, offset: int = 0, limit: int = 200, ctx: Context = Depends(get_ctx)
) -> m.ImagePage:
    """Images (with captions and sizes) matching the query ``q``, a page at a time."""
    ds = _ds(ctx, name)
    records = scan(ds)
    matched = parse_query(q).filter(records)
    page = matched[max(0, offset) : max(0, offset) + max(0, min(limit, 100_000))]
    return {"total": len(records), "matched": len(matched), "offset": offset, "images": [r.to_dict() for r in page]}


@router.get(PREFIX + "/images/{image}")
def get_image(name: str, image: str, ctx: Context = Depends(get_ctx)) -> m.ImageRecordView:
    return edits.image_detail(_ds(ctx, name), image)


@router.get(PREFIX + "/images/{image}/file", response_class=FileResponse)
def image_file(name: str, image: str, ctx: Context = Depends(get_ctx)):
    return FileResponse(_ds(ctx, name).image_path(image))


@router.get(PREFIX + "/images/{image}/thumb", response_class=FileResponse)
def image_thumb(name: str, image: str, size: int = 256, ctx: Context = Depends(get_ctx)):
    from lorapilot.tools.tagpilot.thumbs import thumbnail

    path = thumbnail(ctx.workspace.cache, _ds(ctx, name).image_path(image), size)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.put(
    PREFIX + "/images/{image}/caption",
    response_model=m.CaptionView,
    responses={409: {"description": "the caption changed since ``version``: ``current`` is the caption now"}},
)
def put_caption(name: str, image: str, body: m.CaptionEdit, ctx: Context = Depends(get_ctx)):
    """Write a caption based on ``version``; a stale version gets 409 with the current caption."""
    if (body.text is None) == (body.tags is None):
        raise LorapilotError("send exactly one of 'text' or 'tags'")
    text = body.text if body.text is not None else join_tags([t.strip() for t in body.tags if t.strip()])
    try:
        caption = edits.edit_caption(_ds(ctx, name), image, text, body.version)
    except edits.StaleCaptionError as exc:
        return JSONResponse({"detail": str(exc), "current": exc.current.to_dict()}, status_code=409)
    return caption.to_dict()


@router.get(PREFIX + "/tags")
def tags(
    name: str, prefix: str | None = None, q: str | None = None, limit: int = 1000, ctx: Context = Depends(get_ctx)
) -> m.TagTable:
    """The tag frequency table (of the images matching ``q``), or autocomplete for ``prefix``."""
    ds = _ds(ctx, name)
    if q:
        query = parse_query(q)
        records = query.filter(scan(ds, with_sizes=query.needs_sizes))
        images, frequency = len(records), tag_frequency(records)
    else:
        images, frequency = len(ds.image_names()), dataset_tag_frequency(ds)
    rows = autocomplete(frequency, prefix, limit) if prefix is not None else frequency[: max(0, limit)]
    return {"images": images, "tags": [{"tag": t, "count": c} for t, c in rows]}


# -- bulk operations and history -------------------------------------------------------------------


def _op(body: m.OpRequest):
    return make_op(**body.op.model_dump(exclude_none=True))


@router.post(PREFIX + "/ops/preview")
def preview(name: str, body: m.OpRequest, ctx: Context = Depends(get_ctx)) -> m.OpPreview:
    """Which captions the operation would change, and how. Writes nothing."""
    return edits.preview_op(_ds(ctx, name), _op(body), body.query, body.images).to_dict(limit=body.limit)


@router.post(PREFIX + "/ops/apply")
def apply(name: str, body: m.OpRequest, ctx: Context = Depends(get_ctx)) -> m.HistoryEntryView:
    """Apply the operation as one undoable history entry."""
    entry = edits.apply_op(_ds(ctx, name), _op(body), body.query, body.images, body.expected)
    return entry.to_dict()


@router.get(PREFIX + "/history")
def history(name: str, limit: int = 50, ctx: Context = Depends(get_ctx)) -> m.HistoryState:
    return edits.history_state(_ds(ctx, name), limit)


@router.post(PREFIX + "/history/undo")
def undo(name: str, ctx: Context = Depends(get_ctx)) -> m.HistoryEntryView:
    return edits.undo(_ds(ctx, name)).to_dict()


@router.post(PREFIX + "/history/redo")
def redo(name: str, ctx: Context = Depends(get_ctx)) -> m.HistoryEntryView:
    return edits.redo(_ds(ctx, name)).to_dict()


# -- captioners, checks, export --------------------------------------------------------------------


@router.post(PREFIX + "/caption", status_code=202)
def caption_job(
    name: str, body: m.CaptionJob, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> TaskView:
    """Start a captioner run (WD14 tagger, VLM server or a local model) as a task with progress and cancel."""
    from lorapilot.tools.tagpilot.captioners import make_local, make_vlm, make_wd14
    from lorapilot.tools.tagpilot.captioning import run_captioner

    ds = _ds(ctx, name)
    parse_query(body.query)  # a bad query fails now, not inside the task
    if body.captioner == "wd14":
        captioner = make_wd14(ctx, confine=True, **body.wd14.model_dump())
    elif body.captioner == "vlm":
        captioner = make_vlm(ctx, **body.vlm.model_dump())
    else:
        captioner = make_local(ctx, body.captioner, confine=True, **body.local.model_dump())

    def work(progress, cancel):
        try:
            return run_captioner(ds, captioner, body.mode, body.query, body.images, progress, cancel).to_dict()
        finally:
            if hasattr(captioner, "close"):
                captioner.close()

    return _task(tasks.submit("tagpilot.caption", f"caption {name} with {body.captioner}", work))


@router.post(PREFIX + "/frames", status_code=202)
def frames_job(
    name: str, body: m.FramesRequest, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> TaskView:
    """Extract frames of the clips (every N frames or at scene changes) into a still dataset, as a task."""
    from lorapilot.tools.tagpilot.frames import check_frames_request, extract_dataset_frames

    ds = _ds(ctx, name)
    check_frames_request(
        ctx.workspace, ds, body.into, body.every, body.scene, body.clips
    )  # a 400 now, not a failed task

    def work(progress, cancel):
        return extract_dataset_frames(
            ctx.workspace, ds, body.into, body.every, body.scene, body.clips, progress, cancel
        ).to_dict()

    return _task(tasks.submit("tagpilot.frames", f"frames of {name} into {body.into}", work))


@router.post(PREFIX + "/checks", status_code=202)
def run_checks(
    name: str, body: m.ChecksRequest, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> TaskView:
    """Run the dataset checks as a task; its result lists the findings."""
    from lorapilot.tools.tagpilot.checks import CheckOptions
    from lorapilot.tools.tagpilot.checks import run_checks as run

    ds = _ds(ctx, name)
    options = CheckOptions(tuple(body.checks), body.min_side, body.blur_threshold, body.near_threshold)
    task = tasks.submit(
        "tagpilot.checks", f"check {name}", lambda progress, cancel: run(ds, options, progress, cancel).to_dict()
    )
    return _task(task)


@router.post(PREFIX + "/checks/action", response_model_exclude_unset=True)
def check_action(name: str, body: m.ImagesAction, ctx: Context = Depends(get_ctx)) -> m.ChecksActionResult:
    """Exclude the images (reversible) or move them to the trash (restorable)."""
    ds = _ds(ctx, name)
    if body.action == "exclude":
        return {"excluded": datasets.exclude_images(ds, body.images)}
    return {"trashed": [item.to_dict() for item in datasets.delete_images(ctx.workspace, ds, body.images)]}


@router.get(PREFIX + "/excluded")
def excluded(name: str, ctx: Context = Depends(get_ctx)) -> m.ExcludedImages:
    return {"images": datasets.excluded_images(_ds(ctx, name))}


@router.post(PREFIX + "/excluded/include")
def include(name: str, body: m.ImagesList, ctx: Context = Depends(get_ctx)) -> m.IncludedImages:
    return {"included": datasets.include_images(_ds(ctx, name), body.images)}


@router.post(PREFIX + "/export", status_code=202)
def export(
    name: str, body: m.ExportRequest, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> TaskView:
    """Write the kohya folder + TOML, the AI Toolkit entry, the Diffusion Pipe TOML and the handoff, as a task.

    Bad options are refused at once; the task's progress counts the images linked (or copied, when
    ``outputs/`` is on another file system); a cancel leaves the previous export untouched.
    """
    from lorapilot.tools.tagpilot.export import ExportOptions, check_export, export_dataset

    ds = _ds(ctx, name)
    options = ExportOptions(**{**body.model_dump(), "formats": tuple(body.formats)})
    check_export(ctx.workspace, ds, options)
    task = tasks.submit(
        "tagpilot.export",
        f"export {name}",
        lambda progress, cancel: export_dataset(ctx.workspace, ds, options, progress, cancel).to_dict(),
    )
    return _task(task)


@router.get(PREFIX + "/handoff", response_model_exclude_unset=True)  # the file's keys, as written
def get_handoff(name: str, ctx: Context = Depends(get_ctx)) -> m.Handoff:
    """The "train this" data TrainPilot reads (written by export or POST)."""
    from lorapilot.tools.tagpilot.export import read_handoff

    handoff = read_handoff(_ds(ctx, name))
    if handoff is None:
        raise NotFoundError(f"dataset {name!r} has no handoff yet: export it (or POST this URL) first")
    return handoff


@router.post(PREFIX + "/handoff")
def post_handoff(name: str, body: m.HandoffRequest, ctx: Context = Depends(get_ctx)) -> m.Handoff:
    """Write the handoff from the dataset as it is now, without exporting files (unset values stay null)."""
    from lorapilot.tools.tagpilot.export import read_handoff, write_handoff

    ds = _ds(ctx, name)
    try:
        previous = read_handoff(ds) or {}
    except ConfigError:
        previous = {}  # a broken file is replaced by a good one, not a dead end
    values = {key: previous.get(key) for key in ("trigger_word", "repeats", "resolution")}
    values.update(body.model_dump(exclude_none=True))
    return write_handoff(ds, **values)


# -- settings ------------------------------------------------------------------------------------


@router.get("/config")
def config(ctx: Context = Depends(get_ctx)) -> m.TagPilotConfig:
    """Captioner defaults from config/lorapilot.toml; for the API key only whether it is set."""
    from lorapilot.tools.tagpilot.local_captioners import LOCAL_CAPTIONERS
    from lorapilot.tools.tagpilot.vlm import API_KEY_SECRET

    settings = ctx.settings.tagpilot
    return {
        "wd14_model_dir": settings.wd14_model_dir,
        "vlm": settings.vlm.model_dump(),
        "vlm_api_key_set": bool(read_secrets(ctx.workspace.secrets_file).get(API_KEY_SECRET)),
        "onnxruntime_installed": importlib.util.find_spec("onnxruntime") is not None,
        "local_models_dir": settings.local_models_dir,
        "local_captioners": {name: c.hf_repo for name, c in LOCAL_CAPTIONERS.items()},
    }


@router.put("/vlm-key")
def set_vlm_key(body: m.SecretValue, ctx: Context = Depends(get_ctx)) -> m.VlmKeyState:
    """Store the VLM API key in secrets.env (0600). The value is never sent back."""
    from lorapilot.tools.tagpilot.vlm import API_KEY_SECRET

    ctx.workspace.config.mkdir(parents=True, exist_ok=True)
    set_secret(ctx.workspace.secrets_file, API_KEY_SECRET, body.value)
    return {"vlm_api_key_set": True}


@router.delete("/vlm-key")
def delete_vlm_key(ctx: Context = Depends(get_ctx)) -> m.VlmKeyState:
    from lorapilot.tools.tagpilot.vlm import API_KEY_SECRET

    delete_secret(ctx.workspace.secrets_file, API_KEY_SECRET)
    return {"vlm_api_key_set": False}


# -- crop (its routes and models live in crop_api.py) ----------------------------------------------

from lorapilot.tools.tagpilot.crop_api import router as _crop_router  # noqa: E402

router.include_router(_crop_router)

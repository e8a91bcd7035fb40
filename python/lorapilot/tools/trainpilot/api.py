"""``/api/trainpilot/...``: the HTTP shell over TrainPilot's library (profiles, pickers, the queue).

The router's lifespan runs the queue worker inside ControlPilot (``[trainpilot] worker``).
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.apideps import get_ctx, get_tasks
from lorapilot.stack.apimodels import TrashItemView
from lorapilot.stack.context import Context

from . import actions
from . import api_models as m
from .datasets import inspect_dataset, list_datasets
from .grid.schema import GridManifest, GridRequest, GridStarted, GridStatus, GridTask
from .presets import build_profile, list_presets
from .profiles import ModelRef, Profile, ProfileStore
from .training_bases import known_prediction, list_base_models, list_components
from .validate import ProfileInvalid, trainer_choices, validate_profile


@asynccontextmanager
async def _worker_lifespan(app):
    from .worker import QueueWorker

    ctx: Context = app.state.ctx
    worker = None
    if ctx.settings.trainpilot.worker:
        worker = QueueWorker(ctx)
        worker.start()
    app.state.trainpilot_worker = worker
    try:
        yield
    finally:
        if worker is not None:
            await asyncio.to_thread(worker.stop)


router = APIRouter(prefix="/api/trainpilot", tags=["trainpilot"], lifespan=_worker_lifespan)


def _invalid(exc: ProfileInvalid) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "issues": [i.to_dict() for i in exc.issues]}, status_code=400)


# --- pickers ---------------------------------------------------------------------------------------


@router.get("/presets")
def presets() -> list[m.PresetView]:
    return [p.to_dict() for p in list_presets()]


@router.get("/datasets")
def datasets(ctx: Context = Depends(get_ctx)) -> list[m.TrainingDataset]:
    return [d.to_dict() for d in list_datasets(ctx.workspace)]


@router.get("/datasets/{name}")
def dataset(name: str, ctx: Context = Depends(get_ctx)) -> m.TrainingDataset:
    return inspect_dataset(ctx.workspace, name).to_dict()


@router.get("/models")
def base_models(family: str | None = None, ctx: Context = Depends(get_ctx)) -> list[m.BaseModelChoice]:
    return [model.to_dict() for model in list_base_models(ctx, family)]


@router.get("/defaults")
def defaults(ctx: Context = Depends(get_ctx)) -> m.FlowDefaultsView:
    """Where the new-training flow starts: the family of the base models present, an installed trainer,
    the detected GPU's tier (the CPU preset without one), and why each was chosen."""
    from lorapilot.tools.trainpilot.defaults import flow_defaults

    return flow_defaults(ctx).to_dict()


@router.get("/trainers")
def trainers(family: str, base: str | None = None, ctx: Context = Depends(get_ctx)) -> list[m.TrainerChoice]:
    """Which trainer takes ``family`` (from the base model ``base``) on which VRAM tier, and why not."""
    return trainer_choices(ctx, family, base)


@router.get("/components/{slot}")
def components(
    slot: Literal["vae", "clip_l", "clip_g", "t5xxl", "ae", "llm", "diffusers", "adapter"],
    ctx: Context = Depends(get_ctx),
) -> list[str]:
    return list_components(ctx, slot)


# --- profiles --------------------------------------------------------------------------------------


@router.post("/profiles/draft")
def draft(body: m.DraftRequest, ctx: Context = Depends(get_ctx)) -> m.ProfileDraft:
    """A profile from a preset, scaled to the dataset (not saved), with its validation issues."""
    info = inspect_dataset(ctx.workspace, body.dataset)
    profile = build_profile(
        name=body.name,
        family=body.family,
        quality=body.quality,
        vram_gb=body.vram_gb,
        trainer=body.trainer,
        model=ModelRef(
            base=body.base,
            vae=body.vae,
            clip_l=body.clip_l,
            t5xxl=body.t5xxl,
            ae=body.ae,
            diffusers=body.diffusers,
            llm=body.llm,
            adapter=body.adapter,
            **known_prediction(ctx, body.base),
        ),
        dataset_name=body.dataset,
        dataset=info,
        trigger_word=body.trigger_word,
    )
    if body.regularization is not None:  # checked by validation below (exists, has images, not the dataset)
        profile = profile.model_copy(update={"regularization": body.regularization})
    return {"profile": profile.model_dump(mode="json"), "issues": [i.to_dict() for i in validate_profile(ctx, profile)]}


@router.post("/profiles/validate")
def validate(profile: Profile, ctx: Context = Depends(get_ctx)) -> list[m.IssueView]:
    return [i.to_dict() for i in validate_profile(ctx, profile)]


@router.get("/profiles")
def profiles(ctx: Context = Depends(get_ctx)) -> list[str]:
    return ProfileStore(ctx.workspace).names()


@router.get("/profiles/{name}")
def get_profile(name: str, ctx: Context = Depends(get_ctx)) -> Profile:
    return ProfileStore(ctx.workspace).load(name)


@router.put("/profiles/{name}")
def put_profile(
    name: str, profile: Profile, overwrite: bool = False, ctx: Context = Depends(get_ctx)
) -> m.SavedProfile:
    if profile.name != name:
        profile = profile.model_copy(update={"name": name})
    path = ProfileStore(ctx.workspace).save(profile, overwrite=overwrite)
    return {"path": str(path), "issues": [i.to_dict() for i in validate_profile(ctx, profile)]}


@router.delete("/profiles/{name}")
def delete_profile(name: str, ctx: Context = Depends(get_ctx)) -> TrashItemView:
    return ProfileStore(ctx.workspace).delete(name).to_dict()


# --- queue -----------------------------------------------------------------------------------------


@router.post("/jobs", responses={400: {"description": "the profile is invalid: ``issues`` says why"}})
def submit(body: m.SubmitRequest, ctx: Context = Depends(get_ctx)) -> m.SubmittedJob:
    """Validate and queue a profile (inline, or a saved one by name)."""
    try:
        if body.profile is not None:
            job, warnings = actions.submit(ctx, body.profile, body.profile_name)
        elif body.profile_name:
            job, warnings = actions.submit_saved(ctx, body.profile_name)
        else:
            return JSONResponse({"detail": "give a profile or a profile_name"}, status_code=400)
    except ProfileInvalid as exc:
        return _invalid(exc)
    return {"job": job.to_dict(), "warnings": [w.to_dict() for w in warnings]}


@router.get("/jobs")
def jobs(ctx: Context = Depends(get_ctx)) -> list[m.JobSummary]:
    return actions.job_summaries(ctx)


@router.get("/status")
def status(ctx: Context = Depends(get_ctx)) -> m.QueueStatus:
    return actions.queue_status(ctx)


@router.get("/jobs/{job_id}")
def job(job_id: int, log_lines: int = 200, ctx: Context = Depends(get_ctx)) -> m.JobDetail:
    return actions.job_detail(ctx, job_id, log_lines=min(max(log_lines, 0), 5000))


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: int, body: m.CancelRequest, ctx: Context = Depends(get_ctx)) -> m.JobView:
    return actions.cancel(ctx, job_id, body.mode).to_dict()


@router.post("/jobs/{job_id}/resume")
def resume(job_id: int, ctx: Context = Depends(get_ctx)) -> m.JobView:
    return actions.resume(ctx, job_id).to_dict()


@router.post("/jobs/{job_id}/retry", responses={400: {"description": "the profile is invalid: ``issues`` says why"}})
def retry(job_id: int, ctx: Context = Depends(get_ctx)) -> m.JobView:
    try:
        return actions.retry(ctx, job_id).to_dict()
    except ProfileInvalid as exc:
        return _invalid(exc)


@router.post("/jobs/{job_id}/move")
def move(job_id: int, body: m.JobMoveRequest, ctx: Context = Depends(get_ctx)) -> list[m.JobView]:
    return [j.to_dict() for j in actions.move(ctx, job_id, body.index)]


@router.delete("/jobs/{job_id}")
def forget(job_id: int, ctx: Context = Depends(get_ctx)) -> m.JobView:
    """Remove a finished job from the list (its folder stays under outputs/trainpilot/)."""
    return actions._with_store(ctx, lambda s: s.forget(job_id)).to_dict()


@router.get("/jobs/{job_id}/file", response_class=FileResponse)
def job_file(job_id: int, path: str, ctx: Context = Depends(get_ctx)):
    """A file of the job's folder (sample images, rendered configs); nothing outside it."""
    return FileResponse(actions.job_file(ctx, job_id, path))


# --- test grid -------------------------------------------------------------------------------------


def _grid_task_title(job_id: int) -> str:
    return f"Test grid for job {job_id}"


@router.post("/jobs/{job_id}/grid")
def start_grid(
    job_id: int, body: GridRequest, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> GridStarted:
    """Render the job's test grid (checkpoints × weights × prompts) as a background task with live progress."""
    from .grid import parse_weights, plan_for_job, render_job_grid

    weights = parse_weights(",".join(str(w) for w in body.weights))  # the CLI's range checks
    prompts = [p.strip() for p in body.prompts or [] if p.strip()] or None
    plan = plan_for_job(ctx, job_id, weights=weights, prompts=prompts, checkpoints=body.checkpoints)
    from .grid.plan import check_size

    check_size(plan)
    task = tasks.submit(
        "trainpilot-grid",
        _grid_task_title(job_id),
        lambda progress, cancel: render_job_grid(ctx, plan, body.renderer, progress, cancel)["grid"],
        total=len(plan.cells()),
    )
    return GridStarted(task_id=task.id, cells=len(plan.cells()))


@router.get("/jobs/{job_id}/grid")
def grid_status(job_id: int, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)) -> GridStatus:
    """The job's last complete grid (manifest with row/column labels) and its newest grid task."""
    from .grid import grid_dir, read_manifest

    folder = grid_dir(actions.get_job(ctx, job_id))
    manifest = read_manifest(folder)
    task = next((t for t in tasks.list("trainpilot-grid") if t.title == _grid_task_title(job_id)), None)
    return GridStatus(
        manifest=GridManifest.model_validate(manifest) if manifest else None,
        folder=folder.name,
        task=GridTask.model_validate(task.to_dict()) if task else None,
    )


@router.get("/events", response_class=StreamingResponse)
async def events(request: Request, ctx: Context = Depends(get_ctx)):
    """Server-sent ``queue`` events: the job list, sent whenever a job changes."""

    async def stream():
        last, quiet = None, 0
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            jobs = await asyncio.to_thread(actions.list_jobs, ctx)
            stamp = [(j.id, j.updated_at, j.state) for j in jobs]
            if stamp != last:
                last, quiet = stamp, 0
                summaries = await asyncio.to_thread(actions.job_summaries, ctx)
                yield f"event: queue\ndata: {json.dumps(summaries, default=str)}\n\n"
            else:
                quiet += 1
                if quiet % 15 == 0:
                    yield ": keepalive\n\n"
            await asyncio.sleep(1.0)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _queue_busy(ctx: Context) -> bool:
    counts = actions.queue_status(ctx)["counts"]
    return bool(counts["running"] or counts["queued"])


@router.get("/shutdown")
def shutdown_status(ctx: Context = Depends(get_ctx)) -> m.StopState:
    """The scheduled machine stop and its countdown (``scheduled`` false when none)."""
    from .autostop import status as stop_status

    return stop_status(ctx, busy=_queue_busy(ctx))


@router.post("/shutdown")
def shutdown_schedule(body: m.ShutdownRequest, ctx: Context = Depends(get_ctx)) -> m.StopState:
    """Arm a machine stop (the command is ``[trainpilot] stop_command`` from the config file, never from here)."""
    from .autostop import schedule, schedule_in
    from .autostop import status as stop_status

    if body.mode == "in":
        schedule_in(ctx, body.value)
    else:
        schedule(ctx, body.mode, body.value)
    return stop_status(ctx, busy=_queue_busy(ctx))


@router.delete("/shutdown")
def shutdown_cancel(ctx: Context = Depends(get_ctx)) -> m.StopState:
    """Cancel the scheduled machine stop."""
    from .autostop import cancel
    from .autostop import status as stop_status

    cancel(ctx)
    return stop_status(ctx, busy=_queue_busy(ctx))

"""``/api/train/...``: the HTTP shell over TrainPilot's library (profiles, pickers, the queue).

The router's lifespan runs the queue worker inside ControlPilot (``[trainpilot] worker``).
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from lorapilot.stack.context import Context
from lorapilot.stack.apideps import get_ctx

from . import actions
from .training_bases import known_prediction, list_base_models, list_components
from .datasets import inspect_dataset, list_datasets
from .presets import build_profile, list_presets
from .profiles import ModelRef, Profile, ProfileStore
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


router = APIRouter(prefix="/api/train", tags=["trainpilot"], lifespan=_worker_lifespan)


def _invalid(exc: ProfileInvalid) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "issues": [i.to_dict() for i in exc.issues]}, status_code=400)


# --- pickers ---------------------------------------------------------------------------------------

@router.get("/presets")
def presets() -> list[dict]:
    return [p.to_dict() for p in list_presets()]


@router.get("/datasets")
def datasets(ctx: Context = Depends(get_ctx)) -> list[dict]:
    return [d.to_dict() for d in list_datasets(ctx.workspace)]


@router.get("/datasets/{name}")
def dataset(name: str, ctx: Context = Depends(get_ctx)) -> dict:
    return inspect_dataset(ctx.workspace, name).to_dict()


@router.get("/models")
def base_models(family: str | None = None, ctx: Context = Depends(get_ctx)) -> list[dict]:
    return [m.to_dict() for m in list_base_models(ctx, family)]


@router.get("/defaults")
def defaults(ctx: Context = Depends(get_ctx)) -> dict:
    """Where the new-training flow starts: the family of the base models present, an installed trainer,
    the detected GPU's tier (the CPU preset without one), and why each was chosen."""
    from lorapilot.tools.trainpilot.defaults import flow_defaults

    return flow_defaults(ctx).to_dict()


@router.get("/trainers")
def trainers(family: str, base: str | None = None, ctx: Context = Depends(get_ctx)) -> list[dict]:
    """Which trainer takes ``family`` (from the base model ``base``) on which VRAM tier, and why not."""
    return trainer_choices(ctx, family, base)


@router.get("/components/{slot}")
def components(slot: Literal["vae", "clip_l", "clip_g", "t5xxl", "ae", "llm", "diffusers"], ctx: Context = Depends(get_ctx)) -> list[str]:
    return list_components(ctx, slot)


# --- profiles --------------------------------------------------------------------------------------

class DraftRequest(BaseModel):
    name: str
    dataset: str
    base: str
    family: str
    quality: Literal["quick", "regular", "high"] = "regular"
    vram_gb: int = 24
    trainer: Literal["kohya", "ai-toolkit", "diffusion-pipe", "native"] = "kohya"
    trigger_word: str | None = None
    clip_l: str | None = None
    t5xxl: str | None = None
    ae: str | None = None
    vae: str | None = None
    diffusers: str | None = None  # Chroma on Diffusion Pipe: a FLUX.1 diffusers folder
    llm: str | None = None  # Lumina 2's Gemma-2 2B, or a UMT5 file for Wan


@router.post("/profiles/draft")
def draft(body: DraftRequest, ctx: Context = Depends(get_ctx)) -> dict:
    """A profile from a preset, scaled to the dataset (not saved), with its validation issues."""
    info = inspect_dataset(ctx.workspace, body.dataset)
    profile = build_profile(
        name=body.name, family=body.family, quality=body.quality, vram_gb=body.vram_gb, trainer=body.trainer,
        model=ModelRef(base=body.base, vae=body.vae, clip_l=body.clip_l, t5xxl=body.t5xxl, ae=body.ae,
                       diffusers=body.diffusers, llm=body.llm, **known_prediction(ctx, body.base)),
        dataset_name=body.dataset, dataset=info, trigger_word=body.trigger_word,
    )
    return {"profile": profile.model_dump(mode="json"), "issues": [i.to_dict() for i in validate_profile(ctx, profile)]}


@router.post("/profiles/validate")
def validate(profile: Profile, ctx: Context = Depends(get_ctx)) -> list[dict]:
    return [i.to_dict() for i in validate_profile(ctx, profile)]


@router.get("/profiles")
def profiles(ctx: Context = Depends(get_ctx)) -> list[str]:
    return ProfileStore(ctx.workspace).names()


@router.get("/profiles/{name}")
def get_profile(name: str, ctx: Context = Depends(get_ctx)) -> dict:
    return ProfileStore(ctx.workspace).load(name).model_dump(mode="json")


@router.put("/profiles/{name}")
def put_profile(name: str, profile: Profile, overwrite: bool = False, ctx: Context = Depends(get_ctx)) -> dict:
    if profile.name != name:
        profile = profile.model_copy(update={"name": name})
    path = ProfileStore(ctx.workspace).save(profile, overwrite=overwrite)
    return {"path": str(path), "issues": [i.to_dict() for i in validate_profile(ctx, profile)]}


@router.delete("/profiles/{name}")
def delete_profile(name: str, ctx: Context = Depends(get_ctx)) -> dict:
    return ProfileStore(ctx.workspace).delete(name).to_dict()


# --- queue -----------------------------------------------------------------------------------------

class SubmitRequest(BaseModel):
    profile: Profile | None = None
    profile_name: str | None = None


@router.post("/jobs")
def submit(body: SubmitRequest, ctx: Context = Depends(get_ctx)):
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
def jobs(ctx: Context = Depends(get_ctx)) -> list[dict]:
    return actions.job_summaries(ctx)


@router.get("/status")
def status(ctx: Context = Depends(get_ctx)) -> dict:
    return actions.queue_status(ctx)


@router.get("/jobs/{job_id}")
def job(job_id: int, log_lines: int = 200, ctx: Context = Depends(get_ctx)) -> dict:
    return actions.job_detail(ctx, job_id, log_lines=min(max(log_lines, 0), 5000))


class CancelRequest(BaseModel):
    mode: Literal["save", "kill"] = "kill"


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: int, body: CancelRequest, ctx: Context = Depends(get_ctx)) -> dict:
    return actions.cancel(ctx, job_id, body.mode).to_dict()


@router.post("/jobs/{job_id}/resume")
def resume(job_id: int, ctx: Context = Depends(get_ctx)) -> dict:
    return actions.resume(ctx, job_id).to_dict()


@router.post("/jobs/{job_id}/retry")
def retry(job_id: int, ctx: Context = Depends(get_ctx)):
    try:
        return actions.retry(ctx, job_id).to_dict()
    except ProfileInvalid as exc:
        return _invalid(exc)


class MoveRequest(BaseModel):
    index: int = Field(ge=0)


@router.post("/jobs/{job_id}/move")
def move(job_id: int, body: MoveRequest, ctx: Context = Depends(get_ctx)) -> list[dict]:
    return [j.to_dict() for j in actions.move(ctx, job_id, body.index)]


@router.delete("/jobs/{job_id}")
def forget(job_id: int, ctx: Context = Depends(get_ctx)) -> dict:
    """Remove a finished job from the list (its folder stays under outputs/trainpilot/)."""
    return actions._with_store(ctx, lambda s: s.forget(job_id)).to_dict()


@router.get("/jobs/{job_id}/file")
def job_file(job_id: int, path: str, ctx: Context = Depends(get_ctx)):
    """A file of the job's folder (sample images, rendered configs); nothing outside it."""
    return FileResponse(actions.job_file(ctx, job_id, path))


@router.get("/events")
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


class ShutdownRequest(BaseModel):
    """Arm a machine stop: ``in`` a duration, ``at`` HH:MM, ``idle`` for a duration, or ``after-queue``."""

    mode: Literal["in", "at", "idle", "after-queue"]
    value: str = Field(default="", max_length=64)  # 30m / 23:00 / 20m; empty for after-queue


def _queue_busy(ctx: Context) -> bool:
    counts = actions.queue_status(ctx)["counts"]
    return bool(counts["running"] or counts["queued"])


@router.get("/shutdown")
def shutdown_status(ctx: Context = Depends(get_ctx)) -> dict:
    """The scheduled machine stop and its countdown (``scheduled`` false when none)."""
    from .autostop import status as stop_status

    return stop_status(ctx, busy=_queue_busy(ctx))


@router.post("/shutdown")
def shutdown_schedule(body: ShutdownRequest, ctx: Context = Depends(get_ctx)) -> dict:
    """Arm a machine stop (the command is ``[trainpilot] stop_command`` from the config file, never from here)."""
    from .autostop import schedule, schedule_in, status as stop_status

    if body.mode == "in":
        schedule_in(ctx, body.value)
    else:
        schedule(ctx, body.mode, body.value)
    return stop_status(ctx, busy=_queue_busy(ctx))


@router.delete("/shutdown")
def shutdown_cancel(ctx: Context = Depends(get_ctx)) -> dict:
    from .autostop import cancel, status as stop_status

    cancel(ctx)
    return stop_status(ctx, busy=_queue_busy(ctx))

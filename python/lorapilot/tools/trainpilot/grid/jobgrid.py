"""A grid for a training job: its saved checkpoints, its profile's prompts and sampler settings."""

from __future__ import annotations

import logging
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.trash import Trash
from lorapilot.stack.context import Context

from .plan import DEFAULT_WEIGHTS, GridPlan, select_checkpoints
from .render import render_grid

log = logging.getLogger(__name__)
GRID_FOLDER = "grid"


def grid_dir(job) -> Path:
    """``outputs/trainpilot/<job>/grid/``."""
    return job.run_path / GRID_FOLDER


def plan_for_job(
    ctx: Context,
    job_id: int,
    weights: list[float] | None = None,
    prompts: list[str] | None = None,
    checkpoints: str = "all",
) -> GridPlan:
    """The grid of job ``job_id``: which checkpoints, weights and prompts (the profile's sample prompts by default)."""
    from ..actions import get_job
    from ..adapters import get_adapter
    from ..job_processes import spec_for
    from ..training_bases import resolve_model

    job = get_job(ctx, job_id)
    outputs = get_adapter(job.trainer).find_outputs(spec_for(ctx, job))
    profile = job.profile
    sample, model, dataset = profile.get("sample", {}), profile.get("model", {}), profile.get("dataset", {})
    if not prompts:
        prompts = list(sample.get("prompts") or [])
        if not prompts:
            trigger = dataset.get("trigger_word")
            prompts = [trigger] if trigger else []
    if not prompts:
        raise LorapilotError(f"job {job_id} has no sample prompts and no trigger word; give prompts (--prompts FILE)")
    base = resolve_model(ctx, model["base"])
    size = sample.get("width") or dataset.get("resolution") or 512
    extras = {slot: str(resolve_model(ctx, model[slot])) for slot in ("clip_l", "t5xxl", "ae") if model.get(slot)}
    return GridPlan(
        job_id=job.id,
        name=job.name,
        family=job.family,
        base=base,
        checkpoints=select_checkpoints(outputs.checkpoints, outputs.final, checkpoints),
        weights=list(weights or DEFAULT_WEIGHTS),
        prompts=prompts,
        negative=sample.get("negative", ""),
        seed=sample.get("seed", 1234),
        steps=sample.get("steps", 20),
        guidance=sample.get("guidance", 7.0),
        width=size,
        height=sample.get("height") or size,
        extras=extras,
    )


def choose_renderer(ctx: Context, plan: GridPlan, which: str = "auto"):
    """ComfyUI's API when ComfyUI is enabled and answering (or asked for), else diffusers here."""
    from lorapilot.tools.mediapilot import comfy_url

    from .comfy import ComfyRenderer, comfy_running

    if which in ("auto", "comfyui"):
        url = None
        try:
            url = comfy_url(ctx)
        except LorapilotError:
            if which == "comfyui":
                raise
        if url and comfy_running(url):
            return ComfyRenderer(plan, url, ctx.workspace.models)
        if which == "comfyui":
            raise LorapilotError(
                f"ComfyUI does not answer at {url}; start it (`lorapilot up`) or use the native renderer"
            )
    from .native import NativeRenderer

    return NativeRenderer(plan)


def render_job_grid(ctx: Context, plan: GridPlan, renderer: str = "auto", progress=None, cancel=None) -> dict:
    """Render ``plan`` into the job's ``grid/`` folder; returns the manifest."""
    from ..actions import get_job

    job = get_job(ctx, plan.job_id)
    engine = choose_renderer(ctx, plan, renderer)
    try:
        return render_grid(
            plan,
            grid_dir(job),
            engine,
            progress=progress,
            cancel=cancel,
            discard=lambda old: Trash(ctx.workspace.root).move(old, source="trainpilot"),
        )
    finally:
        engine.close()


def auto_grid_after_training(ctx: Context, job) -> dict | None:
    """The grid a finished job gets on its own (``[trainpilot] grid_after_training``); None when skipped."""
    settings = ctx.settings.trainpilot
    if settings.grid_after_training == "never" or job.state != "done":
        return None
    try:
        plan = plan_for_job(ctx, job.id, weights=settings.grid_weights)
    except LorapilotError as exc:
        log.info("no test grid for job %s: %s", job.id, exc)
        return None
    cells = len(plan.cells())
    if settings.grid_after_training == "auto" and cells > settings.grid_auto_max_cells:
        log.info(
            "no automatic test grid for job %s: %d images > grid_auto_max_cells (%d)",
            job.id,
            cells,
            settings.grid_auto_max_cells,
        )
        return None
    return render_job_grid(ctx, plan, settings.grid_renderer)

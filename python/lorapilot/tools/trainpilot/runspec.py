"""Resolve a profile against a workspace: the trainer's installation and every path a run needs."""

from __future__ import annotations

from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.context import Context

from .adapters import RunSpec, TrainerAdapter, TrainerLocation, get_adapter
from .datasets import image_dir_of
from .profiles import Profile

NATIVE_COMPONENT = "lorapilot-train"


def trainer_location(ctx: Context, adapter: TrainerAdapter) -> TrainerLocation:
    """Where ``adapter``'s trainer is installed.

    Kohya and AI Toolkit are services: their environment and source come from the plan (manifest,
    else ``apps/<name>/.venv`` and ``apps/<name>/src``). Diffusion Pipe is no service: the manifest
    entry ``diffusion-pipe``, else ``apps/diffusion-pipe``. The native trainer runs in the
    ``lorapilot-train`` environment: that manifest entry, else the interpreter that has lorapilot.
    """
    manifest, ws = ctx.manifest, ctx.workspace
    if adapter.name == "native":
        loc = manifest.location(NATIVE_COMPONENT)
        if loc.env:
            return TrainerLocation(env=loc.env, src=None)
        python = manifest.lorapilot_python
        return TrainerLocation(env=python.parent.parent, src=None, python_path=python)
    if adapter.component in ctx.registry:
        from lorapilot.stack.plan import resolve_component

        plan = resolve_component(ws, ctx.registry.get(adapter.component), ctx.registry, manifest, gpu_available=False)
        return TrainerLocation(env=plan.env_path, src=plan.src_path)
    loc = manifest.location(adapter.component)
    state = ws.state_dir(adapter.component)
    return TrainerLocation(env=loc.env or state / ".venv", src=loc.src or state / "src")


def missing_install(adapter: TrainerAdapter, location: TrainerLocation) -> str | None:
    """What is missing of an installation (a path), or None when it looks complete."""
    if not location.python.exists():
        return str(location.python)
    if adapter.name != "native" and (location.src is None or not location.src.is_dir()):
        return str(location.src)
    return None


def build_spec(
    ctx: Context, profile: Profile, run_dir: Path, resume: bool = False, gpu_ids: list[str] | None = None
) -> RunSpec:
    """A :class:`RunSpec` for ``profile`` with outputs under ``run_dir``."""
    adapter = get_adapter(profile.trainer)
    ws = ctx.workspace
    try:
        image_dir = image_dir_of(ws, profile.dataset.name)
    except LorapilotError:  # a bad dataset name is reported by validation; keep a path for rendering
        image_dir = ws.datasets / profile.dataset.name
    reg_image_dir = None
    if profile.regularization is not None:
        try:
            reg_image_dir = image_dir_of(ws, profile.regularization.name)
        except LorapilotError:
            reg_image_dir = ws.datasets / profile.regularization.name
    return RunSpec(
        profile=profile,
        run_dir=run_dir,
        models_dir=ws.models,
        image_dir=image_dir,
        reg_image_dir=reg_image_dir,
        location=trainer_location(ctx, adapter),
        resume=resume,
        gpu_ids=list(gpu_ids or []),
        tensorboard_root=ws.outputs / "tensorboard",
    )

"""What the CLI and the API do with the queue: each a thin call away from these functions."""

from __future__ import annotations

from pathlib import Path

from lorapilot.kit.errors import ConflictError
from lorapilot.kit.logtail import tail_records
from lorapilot.kit.safepath import resolve_inside
from lorapilot.stack.context import Context

from .adapters import get_adapter
from .job_processes import cancel_running, spec_for
from .profiles import Profile, ProfileStore
from .queue import Job, JobStore
from .validate import ensure_valid
from .worker import worker_running


def open_store(ctx: Context) -> JobStore:
    return JobStore(ctx.workspace)


def submit(ctx: Context, profile: Profile, profile_name: str | None = None) -> tuple[Job, list]:
    """Validate ``profile`` (every error at once) and queue it; returns the job and the warnings."""
    warnings = ensure_valid(ctx, profile)
    store = open_store(ctx)
    try:
        return store.submit(profile, profile_name), warnings
    finally:
        store.close()


def submit_saved(ctx: Context, name: str) -> tuple[Job, list]:
    return submit(ctx, ProfileStore(ctx.workspace).load(name), profile_name=name)


def _with_store(ctx: Context, fn):
    store = open_store(ctx)
    try:
        return fn(store)
    finally:
        store.close()


def get_job(ctx: Context, job_id: int) -> Job:
    return _with_store(ctx, lambda s: s.get(job_id))


def cancel(ctx: Context, job_id: int, mode: str = "kill") -> Job:
    return _with_store(ctx, lambda s: cancel_running(ctx, s, job_id, mode))


def resume(ctx: Context, job_id: int) -> Job:
    """Queue a failed or cancelled job again, continuing from its newest saved state."""

    def go(store: JobStore) -> Job:
        job = store.get(job_id)
        if job.state not in ("failed", "cancelled"):
            raise ConflictError(f"job {job_id} is {job.state}; only failed or cancelled jobs can be resumed")
        if not get_adapter(job.trainer).can_resume(spec_for(ctx, job)):
            raise ConflictError(f"job {job_id} has no saved state to resume from; retry it to start over")
        return store.requeue(job_id, resume=True)

    return _with_store(ctx, go)


def retry(ctx: Context, job_id: int) -> Job:
    """Run a finished job's profile again from scratch, as a new job (the old one stays as it was)."""

    def go(store: JobStore) -> Job:
        job = store.get(job_id)
        if job.state in ("queued", "running"):
            raise ConflictError(f"job {job_id} is {job.state}; retry a finished job")
        profile = job.profile_model()
        ensure_valid(ctx, profile)
        return store.submit(profile, job.profile_name, retry_of=job.id)

    return _with_store(ctx, go)


def move(ctx: Context, job_id: int, index: int) -> list[Job]:
    return _with_store(ctx, lambda s: s.move(job_id, index))


def list_jobs(ctx: Context) -> list[Job]:
    return _with_store(ctx, lambda s: s.list())


def job_summaries(ctx: Context) -> list[dict]:
    """The job list for the UI: each job without its profile, plus whether it can resume or save-stop."""
    out = []
    for job in list_jobs(ctx):
        adapter = get_adapter(job.trainer)
        data = job.to_dict()
        data.pop("profile")
        data["can_save_stop"] = adapter.supports_save_stop
        data["resumable"] = job.state in ("failed", "cancelled") and adapter.can_resume(spec_for(ctx, job))
        out.append(data)
    return out


def job_detail(ctx: Context, job_id: int, log_lines: int = 200) -> dict:
    """A job with its loss curve, samples per step, checkpoints, states and the log's tail."""

    def go(store: JobStore) -> dict:
        job = store.get(job_id)
        adapter = get_adapter(job.trainer)
        spec = spec_for(ctx, job)
        outputs = adapter.find_outputs(spec)
        data = job.to_dict()
        data.update(
            points=store.points(job_id),
            samples=[{"step": s, "path": str(p), "name": p.name} for s, p in outputs.samples],
            checkpoints=[{"step": s, "path": str(p)} for s, p in outputs.checkpoints],
            states=[{"step": s, "path": str(p)} for s, p in outputs.states],
            final_output=str(outputs.final) if outputs.final else None,
            log=tail_records(job.log_path, log_lines),
            resumable=job.state in ("failed", "cancelled") and bool(outputs.states),
            can_save_stop=adapter.supports_save_stop,
        )
        return data

    return _with_store(ctx, go)


def job_file(ctx: Context, job_id: int, path: str) -> Path:
    """A file inside a job's folder (a sample image, a config), refused when outside it."""
    job = _with_store(ctx, lambda s: s.get(job_id))
    return resolve_inside(job.run_path, path, must_exist=True)


def queue_status(ctx: Context) -> dict:
    from .gpushare import waiting_for
    from .worker import gpu_slots

    jobs = list_jobs(ctx)
    return {
        "worker_running": worker_running(ctx),
        "waiting_for": waiting_for(ctx),  # what the first queued job waits for (GPU memory), or None
        "gpus": gpu_slots(ctx),
        "counts": {
            state: sum(1 for j in jobs if j.state == state)
            for state in ("queued", "running", "done", "failed", "cancelled")
        },
    }

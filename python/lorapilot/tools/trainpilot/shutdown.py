"""``lorapilot down`` and the training queue: stop what trains, so nothing is left running unsupervised.

Jobs run in their own process groups so they outlive a ControlPilot restart. ``lorapilot down`` means
"stop everything", though: once the services (and with them ControlPilot's queue worker) are down, a
job left training would hold the GPU with nobody to install its LoRA or run the stop command. So each
running job is stopped the way "Stop & save" does (killed where the trainer cannot save on request),
and recorded as cancelled; ``lorapilot trainpilot resume ID`` continues it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lorapilot.stack.context import Context

from .adapters import get_adapter
from .job_processes import cancel_running, process_matches
from .queue import Job, JobStore
from .worker import QueueWorker


@dataclass
class StoppedJob:
    job: Job
    saved: bool  # stopped with "save": resumable from that step; else killed (resumable from its last state)


def stop_running_jobs(ctx: Context, timeout: float = 120.0) -> tuple[list[StoppedJob], bool]:
    """Stop every running job and record how each ended; call it after the services are down.

    Returns (the stopped jobs, whether this process could drive the queue). While another worker
    drives it (``lorapilot trainpilot worker``), nothing is touched: that worker keeps its jobs. A job
    that has not stopped within ``timeout`` seconds is killed.
    """
    if not (ctx.workspace.state_dir("trainpilot") / "queue.db").is_file():
        return [], True  # TrainPilot never used here: create nothing
    store = JobStore(ctx.workspace)
    worker = QueueWorker(ctx, store)  # only for the queue lock and the runner: it never ticks, so nothing new starts
    try:
        if not worker.acquire():
            return [], False
        running = store.running()
        saving = {}
        for job in running:
            saving[job.id] = get_adapter(job.trainer).supports_save_stop
            cancel_running(ctx, store, job.id, "save" if saving[job.id] else "kill")
        _wait_gone(store, running, timeout)
        for job in running:
            if process_matches(*_pid(store.get(job.id))):
                saving[job.id] = False
                cancel_running(ctx, store, job.id, "kill")
        _wait_gone(store, running, 10.0)
        stopped = []
        for job in running:
            current = store.get(job.id)
            for _ in range(100):  # read the rest of the log, then record the end, as the worker would
                current = worker.runner.poll(current)
                if current.state != "running":
                    break
            stopped.append(StoppedJob(current, saved=saving[job.id] and current.cancel_request == "save"))
        return stopped, True
    finally:
        worker.release()
        store.close()


def still_training(ctx: Context) -> list[Job]:
    """Running jobs whose process is alive (what ``down --keep-training`` leaves running)."""
    if not (ctx.workspace.state_dir("trainpilot") / "queue.db").is_file():
        return []
    store = JobStore(ctx.workspace)
    try:
        return [job for job in store.running() if process_matches(*_pid(job))]
    finally:
        store.close()


def _pid(job: Job) -> tuple[int | None, float | None]:
    return job.pid, job.pid_started


def _wait_gone(store: JobStore, jobs: list[Job], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(process_matches(*_pid(store.get(j.id))) for j in jobs):
        time.sleep(0.2)

"""The queue worker: the one process that starts queued jobs and follows running ones.

Who drives the queue: ControlPilot runs a worker thread (``[trainpilot] worker = true``, the
default); ``lorapilot trainpilot worker`` runs one headless. Only one may drive a workspace's queue at a
time: the worker holds an exclusive lock on ``apps/trainpilot/worker.lock`` (released by the OS
when its process dies); another worker waits on standby and takes over. Submitting, cancelling,
reordering and resuming are plain database writes (plus a signal for cancel), so every CLI and
API call works whether or not this process is the driver.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.nvml import gpu_count
from lorapilot.stack.component_paths import MANIFEST_ENV
from lorapilot.stack.context import Context
from lorapilot.stack.workspace.secrets import read_secrets

from .autostop import AutoStop
from .gpushare import GpuArbiter
from .job_processes import JobRunner
from .notify import notify_async, run_stop_command, webhook_url
from .queue import Job, JobStore
from .validate import ProfileInvalid, ensure_valid

log = logging.getLogger("lorapilot.tools.trainpilot")


def lock_path(ctx: Context) -> Path:
    return ctx.workspace.state_dir("trainpilot") / "worker.lock"


def worker_running(ctx: Context) -> bool:
    """True when some process holds the queue lock (i.e. drives the queue)."""
    path = lock_path(ctx)
    if not path.exists():
        return False
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def gpu_slots(ctx: Context) -> list[str]:
    """GPU ids jobs may run on: ``[trainpilot] gpus``, else every GPU NVML sees, else ``["cpu"]``."""
    configured = ctx.settings.trainpilot.gpus
    if configured:
        return [str(g) for g in configured]
    count = gpu_count()
    return [str(i) for i in range(count)] or ["cpu"]


class QueueWorker:
    """Drives one workspace's queue: call :meth:`tick` repeatedly, or :meth:`start` a thread."""

    def __init__(
        self,
        ctx: Context,
        store: JobStore | None = None,
        arbiter: GpuArbiter | None = None,
        autostop: AutoStop | None = None,
    ):
        self.ctx = ctx
        self.arbiter = arbiter or GpuArbiter(ctx)
        self.autostop = autostop or AutoStop(ctx)
        self.settings = ctx.settings.trainpilot
        self.store = store or JobStore(ctx.workspace)
        self.runner = JobRunner(ctx, self.store, on_finish=self._on_finish)
        self._lock_file = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._finished_since_idle = False
        self._idle_since: float | None = None
        self.grid_thread: threading.Thread | None = None  # the latest automatic test grid (tests wait on it)
        self.slots = gpu_slots(ctx)

    # --- leadership --------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self._lock_file is not None

    def acquire(self) -> bool:
        """Try to become the queue's driver; False while another process drives it."""
        if self._lock_file is not None:
            return True
        path = lock_path(self.ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._lock_file = fh
        return True

    def release(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    # --- one pass ----------------------------------------------------------------------------
    def tick(self) -> None:
        """Follow running jobs, start what fits on free GPUs, and handle an empty queue."""
        if not self.acquire():
            return
        for job in self.store.running():
            try:
                self.runner.poll(job)
            except LorapilotError as exc:
                log.warning("job %s: %s", job.id, exc)
        self.schedule()
        self.arbiter.restore({j.id for j in self.store.running()} | {j.id for j in self.store.queued()})
        self._maybe_stop_machine()

    def schedule(self) -> list[Job]:
        busy = {g for job in self.store.running() for g in job.gpu_ids}
        free = [g for g in self.slots if g not in busy]
        started = []
        for job in self.store.queued():
            need = int(job.profile.get("training", {}).get("num_gpus", 1))
            if need > len(self.slots):
                self._fail(job, f"needs {need} GPUs; this machine offers {len(self.slots)} ({', '.join(self.slots)})")
                continue
            if need > len(free):
                break  # strict order: the next job waits for its GPUs
            try:
                ensure_valid(self.ctx, job.profile_model())
                decision = self.arbiter.prepare(job.id, job.profile_model(), free[:need])
                if decision.action == "wait":
                    return started  # strict order: the job waits for memory the inference apps hold
                if decision.action == "refuse":
                    self._fail(job, decision.message)
                    continue
                started.append(self.runner.launch(job, free[:need]))
            except ProfileInvalid as exc:
                self._fail(job, f"not started: {exc}")
                continue
            except (LorapilotError, OSError) as exc:
                self._fail(job, f"could not start: {exc}")
                continue
            free = free[need:]
        self.arbiter.clear_wait()  # nobody waits for GPU memory now
        return started

    def _fail(self, job: Job, message: str) -> None:
        self._on_finish(self.store.finish(job.id, "failed", error=message))

    def _on_finish(self, job: Job) -> None:
        self._finished_since_idle = True
        url = webhook_url(self.settings, read_secrets(self.ctx.workspace.secrets_file))
        if url and job.state in self.settings.webhook_events:
            notify_async(url, self.settings.webhook_format, job)
        if (
            job.state == "done"
        ):  # InvokeAI keeps its own model list: show it the new LoRA (a thread: never holds up the queue)
            from lorapilot.tools.models import register_new_models

            threading.Thread(
                target=register_new_models, args=(self.ctx,), name="invokeai-register", daemon=True
            ).start()
            if self.settings.grid_after_training != "never":  # the test grid: a thread that waits on its child
                self.grid_thread = threading.Thread(
                    target=self._render_grid, args=(job,), name="trainpilot-grid", daemon=True
                )
                self.grid_thread.start()

    def _render_grid(self, job: Job) -> None:
        """The automatic test grid, in a child process (see ``grid/__main__.py`` for why); its output goes
        to ``grid.log`` beside the job's ``train.log``."""
        env = dict(os.environ)
        if self.ctx.manifest.path is not None:
            env[MANIFEST_ENV] = str(self.ctx.manifest.path)
        command = [sys.executable, "-m", "lorapilot.tools.trainpilot.grid", str(job.id)]
        command += ["--workspace", str(self.ctx.workspace.root)]
        try:
            with open(job.run_path / "grid.log", "ab") as out:
                code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
        except OSError as exc:
            log.error("test grid for job %s could not start: %s", job.id, exc)
            return
        if code != 0:
            log.warning("test grid for job %s failed (exit %s); see %s", job.id, code, job.run_path / "grid.log")

    def _maybe_stop_machine(self) -> None:
        busy = bool(self.store.running() or self.store.queued())
        if self.autostop.tick(busy):  # a schedule from `lorapilot shutdown` / the dashboard
            return
        if busy:
            self._idle_since = None
            return
        if not self._finished_since_idle or not self.settings.stop_command:
            return
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since >= self.settings.stop_delay_s:
            self._finished_since_idle = False
            run_stop_command(self.settings.stop_command, self.ctx.workspace.logs / "trainpilot.log")

    # --- loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> None:
        """Tick until ``stop`` is set (a standby worker keeps trying to take over)."""
        stop = stop or self._stop
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the worker must outlive a bad tick
                log.exception("training queue tick failed")
            stop.wait(self.settings.poll_interval_s)
        self.release()

    def start(self) -> threading.Thread:
        """Run the loop in a daemon thread (ControlPilot)."""
        self._thread = threading.Thread(target=self.run, name="trainpilot-worker", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

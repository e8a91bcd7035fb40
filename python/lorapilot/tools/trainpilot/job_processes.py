"""Start, watch and end training processes.

Each job runs as ``launcher -- <trainer command>`` in a new session (its own process group), so it
outlives whoever started it. The queue stores the launcher's pid with its start time (so a reused
pid is never mistaken for the job) and the byte offset up to which the log has been parsed; after a
restart the worker re-attaches by both. The launcher writes ``exit.json`` when the trainer ends.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from lorapilot.kit.errors import ConflictError, LorapilotError
from lorapilot.kit.logtail import read_records, tail_records
from lorapilot.stack.context import Context

from .adapters import Progress, RunSpec, get_adapter
from .adapters.base import signal_group
from .exit_recorder import LAUNCHER_FILE
from .finish import install_lora
from .queue import Job, JobStore
from .runspec import build_spec

log = logging.getLogger("lorapilot.tools.trainpilot")
EXIT_FILE = "exit.json"
LOG_TAIL_LINES = 50
_LOG_CHUNK = 4 * 1024 * 1024  # bytes of log parsed per tick
LAUNCH_GRACE_S = 30.0


def process_matches(pid: int | None, started: float | None) -> bool:
    """True while ``pid`` is alive, not a zombie, and still the process started at ``started``."""
    if not pid or started is None:
        return False
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - started) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def read_exit(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / EXIT_FILE).read_text())
    except (OSError, ValueError):
        return None


def spec_for(ctx: Context, job: Job, gpu_ids: list[str] | None = None) -> RunSpec:
    return build_spec(
        ctx, job.profile_model(), job.run_path, resume=job.resume, gpu_ids=job.gpu_ids if gpu_ids is None else gpu_ids
    )


class JobRunner:
    """Launches jobs and follows them until they end (one per queue worker)."""

    def __init__(self, ctx: Context, store: JobStore, on_finish=None):
        self.ctx = ctx
        self.store = store
        self.children: dict[int, subprocess.Popen] = {}  # launched by this process: reaped on exit
        self.on_finish = on_finish

    # --- start -----------------------------------------------------------------------------------
    def launch(self, job: Job, gpu_ids: list[str]) -> Job:
        """Render the job's configuration and start it; returns the job, now running."""
        adapter = get_adapter(job.trainer)
        spec = spec_for(self.ctx, job, gpu_ids)
        resume_step = None
        if job.resume:
            state = adapter.find_outputs(spec).latest_state
            if state is None:
                raise LorapilotError(
                    f"job {job.id} has no saved state to resume from in {spec.output_dir}; retry it instead"
                )
            resume_step = state[0]
        adapter.write_config(spec)
        command = adapter.command(spec)
        env = dict(os.environ)
        env.update(command.env)
        env["PYTHONUNBUFFERED"] = "1"
        gpus = [g for g in gpu_ids if g != "cpu"]
        if gpus and not adapter.selects_gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        exit_file = spec.run_dir / EXIT_FILE
        exit_file.unlink(missing_ok=True)
        (spec.run_dir / LAUNCHER_FILE).unlink(missing_ok=True)
        with open(job.log_path, "ab") as log_file:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            what = "resume" if job.resume else "start"
            log_file.write(
                f"\n[trainpilot] attempt {job.attempts + 1}: {what} at {stamp} on {','.join(gpu_ids)}\n"
                f"[trainpilot] $ {shlex.join(command.argv)}\n".encode()
            )
            log_file.flush()
            # Claimed before the process exists: a worker that dies in between leaves a running job
            # whose launcher (if it started) announces itself in launcher.json; it is never started twice.
            self.store.claim(job.id, gpu_ids, log_file.tell(), step=resume_step)
            try:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "lorapilot.tools.trainpilot.exit_recorder",
                        "--exit-file",
                        str(exit_file),
                        "--",
                        *command.argv,
                    ],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=str(command.cwd or spec.run_dir),
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:  # the worker records the claimed job as failed
                raise LorapilotError(f"{command.argv[0]}: {exc.strerror or exc}") from None
        try:
            started = psutil.Process(proc.pid).create_time()
        except psutil.NoSuchProcess:  # ended already: the exit file tells how
            started = time.time()
        self.children[job.id] = proc
        self.store.set_process(job.id, proc.pid, started)
        return self.store.get(job.id)

    # --- follow ----------------------------------------------------------------------------------
    def alive(self, job: Job) -> bool:
        proc = self.children.get(job.id)
        if proc is not None and proc.pid == job.pid:
            return proc.poll() is None
        return process_matches(job.pid, job.pid_started)

    def _adopt(self, job: Job) -> Job | None:
        """A running job without a pid (its worker died while starting it): find its launcher.

        Returns the job (with its pid) to keep following, or None when it is to be ended.
        """
        try:
            info = json.loads((job.run_path / LAUNCHER_FILE).read_text())
        except (OSError, ValueError):
            info = None
        if info and process_matches(info.get("pid"), info.get("started")):
            self.store.set_process(job.id, info["pid"], info["started"])
            return self.store.get(job.id)
        if info is None and read_exit(job.run_path) is None and time.time() - (job.started_at or 0) < LAUNCH_GRACE_S:
            return job  # still starting
        return None

    def poll(self, job: Job) -> Job:
        """Read new progress of a running job; end it when its process is gone."""
        if job.pid is None and job.id not in self.children:
            adopted = self._adopt(job)
            if adopted is None:
                return self.finalize(job)
            if adopted.pid is None:
                return adopted
            job = adopted
        adapter = get_adapter(job.trainer)
        spec = spec_for(self.ctx, job)
        alive = self.alive(job)  # before reading: a dead process has written everything
        records, offset = read_records(job.log_path, job.log_offset, _LOG_CHUNK)
        fields: dict = {}
        points: dict[int, tuple] = {}
        for record in records:
            progress = adapter.parse(record, spec)
            if progress is not None:
                _merge(progress, fields, points)
        outputs = adapter.find_outputs(spec)
        if outputs.samples:
            fields["latest_sample"] = str(outputs.samples[-1][1])
        if outputs.checkpoints:
            fields["latest_checkpoint"] = str(outputs.checkpoints[-1][1])
        fields["log_offset"] = offset
        self.store.update_progress(job.id, [(s, *v) for s, v in sorted(points.items())], **fields)
        if alive:
            return self.store.get(job.id)
        try:
            size = job.log_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if offset < size and records:
            return self.store.get(job.id)  # more log to read first
        return self.finalize(self.store.get(job.id))

    def finalize(self, job: Job) -> Job:
        """Decide how a job whose process has ended finished, and record it."""
        proc = self.children.pop(job.id, None)
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        adapter = get_adapter(job.trainer)
        spec = spec_for(self.ctx, job)
        outputs = adapter.find_outputs(spec)
        exit_info = read_exit(job.run_path)
        code = None if exit_info is None else exit_info.get("returncode")
        tail = "\n".join(tail_records(job.log_path, LOG_TAIL_LINES))
        common = {"exit_code": code}
        if outputs.latest_checkpoint:
            common["latest_checkpoint"] = str(outputs.latest_checkpoint)
        if job.cancel_request == "kill":
            done = self.store.finish(job.id, "cancelled", error="killed on request", **common)
        elif exit_info is None:
            done = self.store.finish(
                job.id,
                "failed",
                log_tail=tail,
                **common,
                error="the trainer process ended without an exit status (killed outside LoRA Pilot?)",
            )
        elif code == 0 and job.cancel_request == "save":
            state = outputs.latest_state
            where = f" at step {state[0]}" if state else ""
            done = self.store.finish(
                job.id,
                "cancelled",
                error=f"stopped on request after saving{where}; resume continues from there",
                **common,
            )
        elif code == 0 and outputs.final is not None:
            try:
                lora, card = install_lora(self.ctx.workspace, job, outputs.final)
            except OSError as exc:
                done = self.store.finish(
                    job.id, "failed", error=f"training finished but copying {outputs.final} failed: {exc}", **common
                )
            else:
                done = self.store.finish(job.id, "done", final_lora=str(lora), card=str(card), **common)
        elif code == 0:
            done = self.store.finish(
                job.id,
                "failed",
                log_tail=tail,
                **common,
                error=f"{adapter.title} exited without writing the final LoRA",
            )
        else:
            how = f"signal {exit_info['signal']}" if exit_info.get("signal") else f"code {code}"
            done = self.store.finish(
                job.id, "failed", log_tail=tail, error=f"{adapter.title} exited with {how}", **common
            )
        if self.on_finish is not None:
            self.on_finish(done)
        return done


def _merge(progress: Progress, fields: dict, points: dict) -> None:
    for key in ("step", "total", "loss", "lr", "its"):
        value = getattr(progress, key)
        if value is not None:
            fields[key] = value
    if progress.step is not None and progress.loss is not None:
        points[progress.step] = (progress.loss, progress.lr, progress.its)
    if progress.event == "sample" and progress.path:
        fields["latest_sample"] = progress.path
    if progress.event == "checkpoint" and progress.path:
        fields["latest_checkpoint"] = progress.path


def cancel_running(ctx: Context, store: JobStore, job_id: int, mode: str) -> Job:
    """Cancel a job: ``save`` asks the trainer to save and stop, ``kill`` kills its process group.

    A queued job is cancelled at once. The queue worker records the end of a running one.
    """
    if mode not in ("save", "kill"):
        raise LorapilotError(f"cancel mode must be 'save' or 'kill' (got {mode!r})")
    job = store.get(job_id)
    adapter = get_adapter(job.trainer)
    if job.state == "running" and mode == "save" and not adapter.supports_save_stop:
        raise ConflictError(f"{adapter.title} cannot save on request: {adapter.stop_hint} Cancel with kill instead.")
    job = store.request_cancel(job_id, mode)
    if job.state != "running" or not process_matches(job.pid, job.pid_started):
        return job
    if mode == "save":
        adapter.request_save_stop(spec_for(ctx, job), job.pid)
    else:
        signal_group(job.pid, signal.SIGKILL)
    return store.get(job_id)

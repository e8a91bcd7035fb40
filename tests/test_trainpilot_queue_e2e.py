"""The queue end to end with real processes: a fake trainer (tests/support/fake_trainer.py) stands
in for each trainer and prints its real progress format; everything else is real — SQLite, process
groups, signals, the launcher, re-attach by pid and log offset, and the final copy to models/loras."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from lorapilot.kit.errors import ConflictError
from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.finish import sha256_file
from lorapilot.tools.trainpilot.job_processes import process_matches
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.queue import JobStore
from lorapilot.tools.trainpilot.worker import QueueWorker, worker_running
from support.trainpilot import make_train_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
FAST = {"trainpilot": {"poll_interval_s": 0.1}}


def _profile(ctx, trainer="kohya", steps=40, every=10, name=None):
    p = build_profile(
        name=name or f"cat-{trainer}",
        family="sd15" if trainer != "diffusion-pipe" else "sdxl",
        quality="quick",
        vram_gb=12,
        model=ModelRef(base="checkpoints/sd15-base.safetensors"),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
        trainer=trainer,
    )
    p.training.steps = steps
    p.save.every_n_steps = every
    p.sample.every_n_steps = every
    if trainer == "native":
        p.optim.optimizer = "adamw"
    return p


def _wait(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _job(ctx, job_id):
    store = JobStore(ctx.workspace)
    try:
        return store.get(job_id)
    finally:
        store.close()


@contextmanager
def running_worker(ctx):
    worker = QueueWorker(ctx)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def _finished(ctx, job_id):
    job = _job(ctx, job_id)
    return job if job.state in ("done", "failed", "cancelled") else None


def test_killing_the_driver_loses_nothing_and_a_new_worker_reattaches(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings=FAST)
    monkeypatch.setenv("FAKE_STEP_S", "0.08")
    job, _ = actions.submit(ctx, _profile(ctx, "kohya", steps=60))
    env = {**os.environ, "LORAPILOT_MANIFEST": str(ctx.workspace.root / "manifest.json")}
    driver = subprocess.Popen(
        [sys.executable, "-m", "lorapilot", "train", "worker", "-w", str(ctx.workspace.root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        running = _wait(
            lambda: (j := _job(ctx, job.id)).step and j.step >= 10 and j, what="progress under the first worker"
        )
        assert worker_running(ctx)
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert not worker_running(ctx)  # the OS released the lock with the process
    assert process_matches(running.pid, running.pid_started), "the trainer must outlive the process that started it"
    time.sleep(1.0)  # the trainer keeps writing its log while nobody watches
    before = _job(ctx, job.id)
    assert before.state == "running" and before.log_offset < before.log_path.stat().st_size

    with running_worker(ctx):
        done = _wait(lambda: _finished(ctx, job.id), what="the job to finish after re-attach")
    assert done.state == "done", done.error
    assert (done.step, done.total) == (60, 60)
    assert done.log_offset == done.log_path.stat().st_size
    store = JobStore(ctx.workspace)
    steps = [p["step"] for p in store.points(job.id)]
    store.close()
    assert steps[0] <= running.step and steps[-1] == 60 and len(steps) >= 50  # the curve spans both workers
    lora = ctx.workspace.models / "loras" / "cat-kohya.safetensors"
    card = json.loads((ctx.workspace.models / "loras" / "cat-kohya.training.json").read_text())
    assert done.final_lora == str(lora) and card["sha256"] == sha256_file(lora) and card["steps"] == 60
    assert card["dataset"] == {"name": "cats", "images": 4, "captioned": 4} and card["profile"]["trainer"] == "kohya"
    assert oct(lora.stat().st_mode & 0o777) == "0o644"


def test_cancel_with_save_then_resume_continues_the_step_count(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings=FAST)
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    job, _ = actions.submit(ctx, _profile(ctx, "native", steps=80, every=1000))
    with running_worker(ctx):
        _wait(lambda: (_job(ctx, job.id).step or 0) >= 15, what="progress")
        actions.cancel(ctx, job.id, "save")
        stopped = _wait(lambda: _finished(ctx, job.id), what="the saved stop")
        assert stopped.state == "cancelled" and "stopped on request after saving at step" in stopped.error
        saved_step = int(stopped.error.split("at step ")[1].split(";")[0])
        detail = actions.job_detail(ctx, job.id)
        assert detail["resumable"] and detail["states"][-1]["step"] == saved_step
        actions.resume(ctx, job.id)
        done = _wait(lambda: _finished(ctx, job.id), what="the resumed run")
    assert done.state == "done" and done.step == 80 and done.attempts == 2
    log = done.log_path.read_text()
    second = log[log.index("attempt 2: resume") :]
    assert "--resume auto" in second
    assert f"[trainpilot] step={saved_step + 1} total=80" in second and "[trainpilot] step=1 total" not in second


def test_kill_then_resume_from_kohya_state_adds_the_offset(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings=FAST)
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    job, _ = actions.submit(ctx, _profile(ctx, "kohya", steps=60, every=10))
    with running_worker(ctx):
        _wait(lambda: (_job(ctx, job.id).step or 0) >= 25, what="progress")
        with pytest.raises(ConflictError, match="cannot save on request"):
            actions.cancel(ctx, job.id, "save")  # sd-scripts has no save-on-signal
        actions.cancel(ctx, job.id, "kill")
        killed = _wait(lambda: _finished(ctx, job.id), what="the kill")
    assert killed.state == "cancelled" and killed.error == "killed on request"
    assert not process_matches(killed.pid, killed.pid_started)
    actions.resume(ctx, job.id)
    seen = []
    with running_worker(ctx):

        def watch():
            j = _job(ctx, job.id)
            if j.state == "running" and j.attempts == 2 and j.step is not None:
                seen.append(j.step)
            return j if j.state in ("done", "failed") else None

        done = _wait(watch, what="the resumed kohya run")
    assert done.state == "done" and (done.step, done.total) == (60, 60)
    run_toml = (done.run_path / "run.toml").read_text()
    assert "skip_until_initial_step = true" in run_toml and "cat-kohya-step00000020-state" in run_toml
    assert seen and min(seen) == 20  # counted on from the step-20 state, not from zero
    assert "steps:   0%|          | 0/40" in done.log_path.read_text()  # the bar itself counts only what is left


def test_a_crash_fails_the_job_with_its_last_log_lines_and_the_queue_goes_on(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings=FAST)
    monkeypatch.setenv("FAKE_STEP_S", "0.01")
    monkeypatch.setenv("FAKE_CRASH_AT", "5")
    monkeypatch.setenv("FAKE_CRASH_ONCE", str(tmp_path / "crashed-once"))
    first, _ = actions.submit(ctx, _profile(ctx, "ai-toolkit", steps=20))
    second, _ = actions.submit(ctx, _profile(ctx, "native", steps=20))
    with running_worker(ctx):
        failed = _wait(lambda: _finished(ctx, first.id), what="the crash")
        done = _wait(lambda: _finished(ctx, second.id), what="the next job")
    assert failed.state == "failed" and failed.error == "AI Toolkit exited with code 1" and failed.exit_code == 1
    tail = failed.log_tail.splitlines()
    assert len(tail) == 50 and tail[-1] == "torch.OutOfMemoryError: CUDA out of memory (fake)"
    assert done.state == "done"
    retried = actions.retry(ctx, first.id)
    assert retried.retry_of == first.id and retried.id != first.id
    with running_worker(ctx):
        again = _wait(lambda: _finished(ctx, retried.id), what="the retry")
    assert again.state == "done" and _job(ctx, first.id).state == "failed"


def test_reorder_and_one_job_per_gpu(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings=FAST)
    monkeypatch.setenv("FAKE_STEP_S", "0.01")
    jobs = [actions.submit(ctx, _profile(ctx, "native", steps=15, name=f"cat{i}"))[0] for i in range(3)]
    queue = actions.move(ctx, jobs[2].id, 0)
    assert [j.id for j in queue] == [jobs[2].id, jobs[0].id, jobs[1].id]
    with running_worker(ctx):
        finished = [_wait(lambda j=j: _finished(ctx, j.id), what=f"job {j.id}") for j in jobs]
    assert all(j.state == "done" for j in finished)
    order = sorted(finished, key=lambda j: j.started_at)
    assert [j.id for j in order] == [jobs[2].id, jobs[0].id, jobs[1].id]
    for a, b in zip(order, order[1:]):
        assert b.started_at >= a.finished_at - 0.5  # one CPU "GPU": never two at once


def test_two_gpus_run_two_jobs_side_by_side(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"poll_interval_s": 0.1, "gpus": ["0", "1"]}})
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    a, _ = actions.submit(ctx, _profile(ctx, "kohya", steps=30, name="gpu-a"))
    b, _ = actions.submit(ctx, _profile(ctx, "ai-toolkit", steps=30, name="gpu-b"))
    with running_worker(ctx):
        _wait(lambda: _job(ctx, a.id).state == "running" and _job(ctx, b.id).state == "running", what="both running")
        ja, jb = _job(ctx, a.id), _job(ctx, b.id)
        assert {tuple(ja.gpu_ids), tuple(jb.gpu_ids)} == {("0",), ("1",)}
        da = _wait(lambda: _finished(ctx, a.id))
        db = _wait(lambda: _finished(ctx, b.id))
    assert da.state == db.state == "done"
    assert f"CUDA_VISIBLE_DEVICES={da.gpu_ids[0]}" in da.log_path.read_text()
    assert f"CUDA_VISIBLE_DEVICES={db.gpu_ids[0]}" in db.log_path.read_text()


def test_diffusion_pipe_save_quit_and_resume(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings=FAST)
    from support.trainpilot import write_safetensors

    write_safetensors(ctx.workspace.models / "checkpoints" / "sdxl.safetensors", ["conditioner.embedders.1.model.x"])
    profile = _profile(ctx, "diffusion-pipe", steps=50, every=10)
    profile.model.base = "checkpoints/sdxl.safetensors"
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    job, warnings = actions.submit(ctx, profile)
    with running_worker(ctx):
        _wait(lambda: (_job(ctx, job.id).step or 0) >= 12, what="progress")
        actions.cancel(ctx, job.id, "save")
        stopped = _wait(lambda: _finished(ctx, job.id), what="save_quit")
        assert stopped.state == "cancelled", stopped.error
        assert "Manually quitting" in stopped.log_path.read_text()
        actions.resume(ctx, job.id)
        done = _wait(lambda: _finished(ctx, job.id), what="resumed run")
    assert done.state == "done" and done.step == 50
    assert "--resume_from_checkpoint" in done.log_path.read_text().split("attempt 2")[1]
    assert (ctx.workspace.models / "loras" / "cat-diffusion-pipe.safetensors").is_file()


def test_a_trainer_killed_from_outside_fails_with_a_clear_error(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings=FAST)
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    job, _ = actions.submit(ctx, _profile(ctx, "native", steps=200))
    with running_worker(ctx):
        running = _wait(lambda: (j := _job(ctx, job.id)).step and j, what="progress")
        os.killpg(running.pid, signal.SIGKILL)  # e.g. the OOM killer takes the whole group
        failed = _wait(lambda: _finished(ctx, job.id), what="failure")
    assert failed.state == "failed" and "ended without an exit status" in failed.error


def test_a_worker_dying_while_starting_a_job_never_starts_it_twice(tmp_path, monkeypatch):
    import lorapilot.tools.trainpilot.job_processes as runner_module
    from lorapilot.tools.trainpilot.job_processes import spec_for

    ctx = make_train_workspace(tmp_path, settings=FAST)
    monkeypatch.setenv("FAKE_STEP_S", "0.01")
    started, _ = actions.submit(ctx, _profile(ctx, "native", steps=20, name="started"))
    lost, _ = actions.submit(ctx, _profile(ctx, "native", steps=20, name="lost"))
    store = JobStore(ctx.workspace)
    # What launch() does up to the moment a worker could die: claimed, launcher running, pid not yet recorded.
    from lorapilot.tools.trainpilot.adapters import get_adapter

    spec = spec_for(ctx, store.get(started.id), ["cpu"])
    get_adapter("native").write_config(spec)
    store.claim(started.id, ["cpu"], 0)
    argv = get_adapter("native").command(spec).argv
    with open(spec.run_dir / "train.log", "ab") as log:
        launcher = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lorapilot.tools.trainpilot.exit_recorder",
                "--exit-file",
                str(spec.run_dir / "exit.json"),
                "--",
                *argv,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # ...and one claimed whose process never started.
    store.claim(lost.id, ["cpu"], 0)
    store.close()
    monkeypatch.setattr(runner_module, "LAUNCH_GRACE_S", 0.5)
    with running_worker(ctx):
        done = _wait(lambda: _finished(ctx, started.id), what="the adopted job")
        failed = _wait(lambda: _finished(ctx, lost.id), what="the lost launch")
    launcher.wait(10)
    assert done.state == "done" and done.step == 20 and done.attempts == 1
    assert done.log_path.read_text().count("fake trainer pid=") == 1  # adopted, not started again
    assert failed.state == "failed" and "ended without an exit status" in failed.error


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_and_stop_command_when_the_queue_runs_empty(tmp_path, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    marker = tmp_path / "machine-stopped"
    settings = {
        "trainpilot": {
            "poll_interval_s": 0.1,
            "webhook_url": f"http://127.0.0.1:{server.server_port}/hook",
            "webhook_format": "discord",
            "stop_command": [
                sys.executable,
                "-c",
                "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('bye')",
                str(marker),
            ],
            "stop_delay_s": 0,
        }
    }
    ctx = make_train_workspace(tmp_path, settings=settings)
    monkeypatch.setenv("FAKE_STEP_S", "0.01")
    job, _ = actions.submit(ctx, _profile(ctx, "native", steps=10))
    try:
        with running_worker(ctx):
            _wait(lambda: _finished(ctx, job.id), what="the job")
            _wait(lambda: marker.exists(), what="the stop command")
            _wait(lambda: _Hook.received, what="the webhook")
    finally:
        server.shutdown()
    headers, body = _Hook.received[0]
    payload = json.loads(body)
    assert (
        payload["username"] == "LoRA Pilot"
        and f"job {job.id} 'cat-native'" in payload["content"]
        and " done " in payload["content"]
    )
    assert marker.read_text() == "bye"
    assert "queue empty: running" in (ctx.workspace.logs / "trainpilot.log").read_text()


def test_only_one_worker_drives_a_queue(tmp_path):
    ctx = make_train_workspace(tmp_path)
    first, second = QueueWorker(ctx), QueueWorker(ctx)
    assert first.acquire() and not second.acquire()
    assert worker_running(ctx)
    second.tick()  # a standby worker does nothing
    first.release()
    assert not worker_running(ctx) and second.acquire()
    second.release()

"""GPU sharing: before a job starts, the inference apps are asked to free VRAM through their own
APIs, and the queue waits, stops the apps (and starts them again after the job) or refuses.

This machine has no GPU: NVML is the telemetry tests' stand-in, with memory that the apps' loopback
stand-ins release when asked the way the real apps are (ComfyUI ``POST /free`` with
``unload_models``/``free_memory``; InvokeAI ``POST /api/v2/models/empty_model_cache``). The service
pids are real processes; the process manager is a recorder over them (starting a real supervisord is
what the up/down tests do). The queue, the launcher and the fake trainer are real."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.gpushare import GiB, GpuArbiter
from lorapilot.tools.trainpilot.queue import JobStore
from lorapilot.tools.trainpilot.worker import QueueWorker
from support.fake_nvml import FakeNvml
from support.trainpilot import make_train_workspace
from test_trainpilot_queue_e2e import _finished, _job, _profile, _wait

pytestmark = [pytest.mark.e2e]


class SharedGpu(FakeNvml):
    """One 24 GiB GPU whose used memory is what the processes in ``held`` hold."""

    def __init__(self):
        super().__init__(pids=[])
        self.held: dict[int, int] = {}

    def nvmlDeviceGetMemoryInfo(self, h):
        used = sum(self.held.values())
        return SimpleNamespace(used=used, total=24 * GiB, free=24 * GiB - used)

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in self.held.items() if m]


class Apps:
    """ComfyUI and InvokeAI stand-ins on loopback (real HTTP), each a real process holding VRAM."""

    def __init__(self, gpu: SharedGpu, comfy_gib: float, invoke_gib: float, comfy_frees: bool = True):
        self.gpu = gpu
        self.requests: list[tuple[str, str, object]] = []
        self.procs = {name: subprocess.Popen(["sleep", "300"]) for name in ("comfyui", "invokeai")}
        self.pid = {name: p.pid for name, p in self.procs.items()}
        self.running = {"comfyui", "invokeai"}
        self.calls: list[tuple[str, str]] = []
        gpu.held[self.pid["comfyui"]] = int(comfy_gib * GiB)
        gpu.held[self.pid["invokeai"]] = int(invoke_gib * GiB)
        apps = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                app = self.server.app_name
                apps.requests.append((app, self.path, body))
                if app == "comfyui" and self.path == "/free":
                    # ComfyUI sets flags its prompt worker acts on a moment later: free after a delay.
                    if comfy_frees and body.get("unload_models") and body.get("free_memory"):
                        threading.Timer(0.3, apps.release, args=("comfyui",)).start()
                    self.send_response(200)
                    self.end_headers()
                elif app == "invokeai" and self.path == "/api/v2/models/empty_model_cache":
                    apps.release("invokeai")
                    payload = b"null"
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                else:
                    self.send_response(404)
                    self.end_headers()

        self.servers = {}
        for name in ("comfyui", "invokeai"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.app_name = name
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers[name] = server
        self.urls = {name: f"http://127.0.0.1:{s.server_address[1]}" for name, s in self.servers.items()}

    def release(self, name: str) -> None:
        self.gpu.held[self.pid[name]] = 300 * 1024**2  # the CUDA context stays

    # the process manager's surface the arbiter uses
    def status(self):
        return [
            SimpleNamespace(name=n, state="running" if n in self.running else "stopped", pid=self.pid[n])
            for n in self.pid
        ]

    def stop(self, name):
        self.calls.append(("stop", name))
        self.running.discard(name)
        self.gpu.held.pop(self.pid[name], None)

    def start(self, name):
        self.calls.append(("start", name))
        self.running.add(name)

    def close(self):
        for server in self.servers.values():
            server.shutdown()
        for proc in self.procs.values():
            proc.kill()
            proc.wait()


@pytest.fixture
def shared(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_STEP_S", "0.01")
    made = []

    def make(busy_gpu="wait", free_timeout_s=2, **app_kw):
        settings = {
            "trainpilot": {
                "poll_interval_s": 0.1,
                "gpus": ["0"],
                "busy_gpu": busy_gpu,
                "free_timeout_s": free_timeout_s,
            }
        }
        ctx = make_train_workspace(tmp_path, settings=settings)
        gpu = SharedGpu()
        apps = Apps(gpu, **app_kw)
        made.append(apps)
        arbiter = GpuArbiter(ctx, nvml=gpu, services=apps, app_urls=apps.urls)
        return ctx, gpu, apps, QueueWorker(ctx, arbiter=arbiter)

    yield make
    for apps in made:
        apps.close()


def _run(worker, ctx, job_id, timeout=60):
    worker.start()
    try:
        return _wait(lambda: _finished(ctx, job_id), timeout=timeout, what=f"job {job_id}")
    finally:
        worker.stop()


def test_the_apps_are_asked_to_free_memory_and_the_job_then_trains(shared):
    ctx, gpu, apps, worker = shared(comfy_gib=10, invoke_gib=8)
    job, _ = actions.submit(
        ctx, _profile(ctx, "native", steps=10, name="shared")
    )  # the 12 GB tier: 10.8 GiB free needed
    worker.tick()  # asks both apps; nothing is free yet
    status = actions.queue_status(ctx)
    assert _job(ctx, job.id).state == "queued"
    assert status["waiting_for"]["job"] == job.id
    message = status["waiting_for"]["message"]
    assert (
        "comfyui 10.0 GiB" in message and "invokeai 8.0 GiB" in message and "the 12 GB tier needs 10.8 GiB" in message
    )
    assert ("comfyui", "/free", {"unload_models": True, "free_memory": True}) in apps.requests
    assert ("invokeai", "/api/v2/models/empty_model_cache", None) in apps.requests
    done = _run(worker, ctx, job.id)
    assert done.state == "done", done.error
    assert apps.calls == []  # freed through their APIs: nothing was stopped
    assert actions.queue_status(ctx)["waiting_for"] is None


def test_refuse_names_who_holds_how_much(shared):
    ctx, gpu, apps, worker = shared(
        busy_gpu="refuse", free_timeout_s=0.5, comfy_gib=18, invoke_gib=1, comfy_frees=False
    )
    job, _ = actions.submit(ctx, _profile(ctx, "native", steps=10, name="refused"))
    failed = _run(worker, ctx, job.id)
    assert failed.state == "failed"
    assert "comfyui 18.0 GiB" in failed.error and "GPU 0 has" in failed.error and "the 12 GB tier" in failed.error
    assert apps.calls == []


def test_stop_apps_stops_the_holder_and_starts_it_again_after_the_job(shared):
    ctx, gpu, apps, worker = shared(
        busy_gpu="stop-apps", free_timeout_s=0.5, comfy_gib=18, invoke_gib=1, comfy_frees=False
    )
    job, _ = actions.submit(ctx, _profile(ctx, "native", steps=10, name="stops"))
    done = _run(worker, ctx, job.id)
    assert done.state == "done", done.error
    worker.tick()  # the tick after the end starts the stopped app again
    assert apps.calls == [("stop", "comfyui"), ("start", "comfyui")]
    assert json.loads((ctx.workspace.state_dir("trainpilot") / "stopped-apps.json").read_text()) == {}


def test_a_profile_overrides_the_setting_and_a_wait_keeps_the_job_first(shared):
    ctx, gpu, apps, worker = shared(busy_gpu="refuse", free_timeout_s=0, comfy_gib=18, invoke_gib=1, comfy_frees=False)
    profile = _profile(ctx, "native", steps=10, name="waits")
    profile.training.busy_gpu = "wait"
    job, _ = actions.submit(ctx, profile)
    for _ in range(3):
        worker.tick()
    assert _job(ctx, job.id).state == "queued"
    assert "comfyui 18.0 GiB" in actions.queue_status(ctx)["waiting_for"]["message"]
    apps.release("comfyui")  # e.g. the user closed the workflow
    done = _run(worker, ctx, job.id)
    assert done.state == "done", done.error


def test_restored_apps_survive_a_new_worker(shared):
    """A worker that dies while a job runs leaves the record; the next one starts the app again."""
    ctx, gpu, apps, worker = shared(
        busy_gpu="stop-apps", free_timeout_s=0, comfy_gib=18, invoke_gib=1, comfy_frees=False
    )
    arbiter = worker.arbiter
    arbiter._stop(99, ["comfyui"])  # as if job 99 (long gone) had it stopped
    fresh = GpuArbiter(ctx, nvml=gpu, services=apps, app_urls=apps.urls)
    store = JobStore(ctx.workspace)
    try:
        active = {j.id for j in store.running()} | {j.id for j in store.queued()}
    finally:
        store.close()
    assert fresh.restore(active) == ["comfyui"]
    assert apps.calls[-1] == ("start", "comfyui")

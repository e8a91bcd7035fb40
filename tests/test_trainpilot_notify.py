"""Webhook formats (JSON, Discord, ntfy) posted to a real HTTP server on loopback, and the stop command."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from lorapilot.stack.settings import TrainPilotSettings
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.notify import post_webhook, run_stop_command, webhook_url
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.queue import JobStore
from support.trainpilot import make_train_workspace


@pytest.fixture
def hook():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append((self.path, dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200 if self.path != "/broken" else 500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()


def _failed_job(tmp_path):
    ctx = make_train_workspace(tmp_path)
    store = JobStore(ctx.workspace)
    profile = build_profile(
        name="mycat",
        family="sd15",
        quality="quick",
        vram_gb=12,
        model=ModelRef(base="checkpoints/sd15-base.safetensors"),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
    )
    job = store.submit(profile)
    return ctx, store.finish(job.id, "failed", error="Kohya sd-scripts exited with code 1\nmore")


def test_ntfy_and_json_formats(tmp_path, hook):
    url, received = hook
    _, job = _failed_job(tmp_path)
    assert post_webhook(f"{url}/mytopic", "ntfy", job) == 200
    path, headers, body = received[0]
    assert (
        path == "/mytopic"
        and headers["Title"] == "Training failed: mycat"
        and headers["Priority"] == "high"
        and headers["Tags"] == "x"
    )
    assert (
        body.decode()
        == "LoRA Pilot: training job 1 'mycat' (kohya, sd15) failed at step -; error: Kohya sd-scripts exited with code 1"
    )
    assert post_webhook(f"{url}/json", "json", job) == 200
    payload = json.loads(received[1][2])
    assert payload["event"] == "job.failed" and payload["job"]["id"] == 1 and "profile" not in payload["job"]
    assert post_webhook(f"{url}/broken", "json", job) == 500  # reported, never raised
    assert post_webhook("http://127.0.0.1:9/nothing", "json", job, timeout=2) is None


def test_webhook_url_may_live_in_secrets(tmp_path):
    assert webhook_url(TrainPilotSettings(), {"TRAINPILOT_WEBHOOK_URL": "https://ntfy.sh/x"}) == "https://ntfy.sh/x"
    assert (
        webhook_url(TrainPilotSettings(webhook_url="https://a"), {"TRAINPILOT_WEBHOOK_URL": "https://b"}) == "https://a"
    )


def test_stop_command_expands_variables_without_a_shell(tmp_path, monkeypatch):
    monkeypatch.setenv("POD_ID", "pod-123")
    out = tmp_path / "out.txt"
    argv = [
        sys.executable,
        "-c",
        "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])",
        str(out),
        "$POD_ID; rm -rf /",
    ]
    assert run_stop_command(argv, tmp_path / "trainpilot.log") == 0
    assert out.read_text() == "pod-123; rm -rf /"
    assert run_stop_command(["/nonexistent/stop"], tmp_path / "trainpilot.log") is None

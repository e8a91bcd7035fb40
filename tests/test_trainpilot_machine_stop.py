"""Stopping the machine: at a time, after idling, once the queue is empty; a warning webhook ahead;
never under a running job; the user's stop command run for real (it writes a marker file here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lorapilot.kit.errors import ConfigError, LorapilotError
from lorapilot.tools.trainpilot import autostop
from lorapilot.tools.trainpilot.autostop import AutoStop, parse_at, parse_duration
from support.api import make_client
from support.workspaces import make_workspace


def _ctx(tmp_path, **extra):
    marker = tmp_path / "stopped"
    settings = {"trainpilot": {"worker": False, "stop_command": ["touch", str(marker)], **extra}}
    return make_workspace(tmp_path / "ws", enabled={"controlpilot"}, settings=settings), marker


class Clock:
    def __init__(self, t=1_800_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def webhook():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_durations_and_times_parse_and_bad_ones_say_why():
    assert parse_duration("30m") == 1800 and parse_duration("1h30m") == 5400 and parse_duration("90s") == 90
    assert parse_duration("20") == 1200  # bare number: minutes
    with pytest.raises(LorapilotError, match="duration 'soon'"):
        parse_duration("soon")
    now = datetime(2026, 12, 7, 22, 0)
    assert parse_at("23:00", now) == datetime(2026, 12, 7, 23, 0).timestamp()
    assert parse_at("21:00", now) == datetime(2026, 12, 8, 21, 0).timestamp()  # passed: tomorrow
    with pytest.raises(LorapilotError, match="time '25:99'"):
        parse_at("25:99", now)


def test_nothing_is_scheduled_without_a_stop_command(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    with pytest.raises(ConfigError, match="trainpilot.stop_command is empty"):
        autostop.schedule_in(ctx, "30m")
    assert autostop.read_plan(ctx) is None


def test_a_timed_stop_warns_ahead_waits_for_the_job_then_runs_the_command(tmp_path, webhook):
    url, received = webhook
    ctx, marker = _ctx(tmp_path, webhook_url=url, stop_warning_s=300)
    clock = Clock()
    autostop.schedule_in(ctx, "10m", now=clock.t)
    stop = AutoStop(ctx, activity=lambda: None, clock=clock)
    clock.t += 4 * 60
    assert not stop.tick(busy=False)
    assert autostop.status(ctx, now=clock.t)["seconds_left"] == 6 * 60
    clock.t += 2 * 60  # 4 min left: the warning goes out, once
    assert not stop.tick(busy=False) and not stop.tick(busy=False)
    _wait_for(lambda: len(received) == 1)
    assert received[0]["event"] == "machine.stop" and "stops in 4 min" in received[0]["text"]
    clock.t += 10 * 60  # due, but a job runs: held
    assert not stop.tick(busy=True) and not marker.exists()
    assert "training job" in autostop.status(ctx, busy=True, now=clock.t)["held_by"]
    assert stop.tick(busy=False)  # the queue is empty: it fires
    assert marker.exists()
    assert autostop.read_plan(ctx) is None  # fired once, not every tick


def test_idle_counts_from_the_last_activity(tmp_path):
    ctx, marker = _ctx(tmp_path)
    clock = Clock()
    activity = ["a connection to comfyui"]
    autostop.schedule(ctx, "idle", "20m", now=clock.t)
    stop = AutoStop(ctx, activity=lambda: activity[0], clock=clock, notify=lambda text: None)
    clock.t += 3600
    assert not stop.tick(busy=False)  # active all along
    assert autostop.status(ctx, now=clock.t)["held_by"].startswith("not idle")
    activity[0] = None
    stop.tick(busy=False)
    clock.t += 15 * 60
    assert not stop.tick(busy=False)
    assert autostop.status(ctx, now=clock.t)["seconds_left"] == 5 * 60
    activity[0] = "GPU utilisation 95%"  # someone generates: the countdown starts over later
    assert not stop.tick(busy=False)
    activity[0] = None
    stop.tick(busy=False)
    clock.t += 19 * 60
    assert not stop.tick(busy=False) and not marker.exists()
    clock.t += 60
    assert stop.tick(busy=False) and marker.exists()


def test_after_the_queue_fires_once_it_is_empty(tmp_path):
    ctx, marker = _ctx(tmp_path)
    autostop.schedule(ctx, "after-queue")
    stop = AutoStop(ctx, activity=lambda: "ignored", notify=lambda text: None)
    assert not stop.tick(busy=True)
    assert stop.tick(busy=False) and marker.exists()


def test_api_schedules_counts_down_and_cancels(tmp_path):
    ctx, _ = _ctx(tmp_path)
    client = make_client(ctx)
    assert client.get("/api/train/shutdown").json()["scheduled"] is False
    state = client.post("/api/train/shutdown", json={"mode": "in", "value": "30m"}).json()
    assert state["mode"] == "at" and 29 * 60 < state["seconds_left"] <= 30 * 60
    bad = client.post("/api/train/shutdown", json={"mode": "idle", "value": "later"})
    assert bad.status_code == 400 and "duration 'later'" in bad.json()["detail"]
    assert client.get("/api/train/shutdown").json()["mode"] == "at"  # the bad request changed nothing
    assert "stop_command" not in json.dumps(
        client.post("/api/train/shutdown", json={"mode": "after-queue"}).json()
    ).replace("stop_command_set", "")
    assert client.delete("/api/train/shutdown").json()["scheduled"] is False


def test_cli_in_status_cancel(tmp_path):
    ctx, _ = _ctx(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def cli(*args):
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from lorapilot.cli import main; main()",
                "-w",
                str(ctx.workspace.root),
                "shutdown",
                *args,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    armed = cli("in", "30m")
    assert armed.returncode == 0, armed.stderr
    assert "machine stop (at) in 29 min" in armed.stdout or "machine stop (at) in 30 min" in armed.stdout
    assert "no queue worker runs" in armed.stderr
    assert json.loads(cli("status", "--json").stdout)["scheduled"] is True
    assert "cancelled" in cli("cancel").stdout
    assert cli("status").stdout.strip() == "no machine stop scheduled"
    bad = cli("at", "25:99")
    assert bad.returncode != 0 and "time '25:99'" in bad.stderr


def _wait_for(predicate, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_connection_to_a_service_keeps_the_machine_busy_but_controlpilots_does_not(tmp_path):
    import socket

    from lorapilot.tools.trainpilot.autostop import machine_activity

    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "comfyui"})
    listeners = {}
    for name in ("comfyui", "controlpilot"):
        server = socket.create_server(("127.0.0.1", ctx.registry.get(name).port))
        listeners[name] = server
    try:
        assert machine_activity(ctx) is None  # listening is not activity
        with socket.create_connection(("127.0.0.1", ctx.registry.get("controlpilot").port)):
            assert machine_activity(ctx) is None  # the dashboard polls ControlPilot: never counts
        with socket.create_connection(("127.0.0.1", ctx.registry.get("comfyui").port)):
            assert machine_activity(ctx) == "a connection to comfyui"
    finally:
        for server in listeners.values():
            server.close()

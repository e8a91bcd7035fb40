"""The services API against a real supervisord running real processes (ControlPilot, TensorBoard)."""

from __future__ import annotations

import json

import httpx
import pytest

from support.api import api_token, make_client
from support.browser import live_controlpilot
from support.running import running as running_lorapilot
from support.running import wait_for as wait_until
from support.workspaces import make_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    ctx = make_workspace(tmp_path_factory.mktemp("svc") / "ws", enabled={"controlpilot", "tensorboard"})
    with running_lorapilot(ctx):
        yield ctx


def _service(client, name):
    body = client.get("/api/services").json()
    return next(s for s in body["services"] if s["name"] == name)


def _ready(client, name):
    s = _service(client, name)
    return s if s["state"] == "running" and s["ready"] else None


def test_lists_every_component_with_live_facts(running):
    client = make_client(running)
    tb = wait_until(lambda: _ready(client, "tensorboard"), 90, what="tensorboard ready")
    body = client.get("/api/services").json()
    assert body["backend"] == "supervisord" and body["running"] is True and body["message"] is None
    assert [s["name"] for s in body["services"]] == ["controlpilot", "tensorboard"]
    assert tb["port"] == running.registry.get("tensorboard").port
    assert tb["url"] == f"http://testserver:{tb['port']}/"
    assert tb["pid"] > 0 and tb["memory_bytes"] > 10 * 1024 * 1024 and tb["uptime_s"] >= 0
    assert tb["installed"] is True and tb["install_hint"] is None and tb["restarts"] == 0


def test_stop_then_start_changes_state_and_comes_back_ready(running):
    client = make_client(running)
    wait_until(lambda: _ready(client, "tensorboard"), 90, what="tensorboard ready")
    stopped = client.post("/api/services/tensorboard/stop")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped" and stopped.json()["pid"] is None
    started = client.post("/api/services/tensorboard/start")
    assert started.json()["state"] in ("starting", "running")
    ready = wait_until(lambda: _ready(client, "tensorboard"), 90, what="tensorboard ready again")
    assert ready["pid"] != stopped.json()["pid"]


def test_logs_tail_and_unknown_service_errors(running):
    client = make_client(running)
    wait_until(lambda: _ready(client, "tensorboard"), 90, what="tensorboard ready")
    lines = wait_until(
        lambda: client.get("/api/services/tensorboard/logs", params={"tail": 50}).json()["lines"], 30, what="log lines"
    )
    assert any("TensorBoard" in line for line in lines)
    assert len(client.get("/api/services/tensorboard/logs", params={"tail": 1}).json()["lines"]) == 1
    resp = client.post("/api/services/nope/start")
    assert resp.status_code == 400 and "unknown service 'nope'" in resp.json()["detail"]
    assert client.post("/api/services/tensorboard/explode").status_code == 422


def _sse_events(lines, wanted, limit=200):
    """Parse events from an SSE line iterator until ``wanted(event, data)`` is true."""
    event, data = None, []
    seen = 0
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and event:
            payload = json.loads("\n".join(data))
            if wanted(event, payload):
                return event, payload
            event, data = None, []
            seen += 1
            if seen > limit:
                break
    raise AssertionError("the stream ended without the expected event")


def test_event_stream_pushes_service_changes_and_telemetry(running):
    with live_controlpilot(running) as server:
        headers = {"Authorization": f"Bearer {api_token(running)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
            wait_until(lambda: _ready_http(http, "tensorboard"), 90, what="tensorboard ready")
            with http.stream("GET", "/api/events") as resp:
                assert resp.headers["content-type"].startswith("text/event-stream")
                lines = resp.iter_lines()
                _sse_events(lines, lambda e, d: e == "system" and "host" in d)
                assert http.post("/api/services/tensorboard/stop").status_code == 200
                _sse_events(lines, lambda e, d: e == "services" and _state(d, "tensorboard") == "stopped")
                assert http.post("/api/services/tensorboard/start").status_code == 200
                _sse_events(lines, lambda e, d: e == "services" and _state(d, "tensorboard") == "running")


def test_log_stream_sends_the_tail_then_new_lines(running):
    with live_controlpilot(running) as server:
        headers = {"Authorization": f"Bearer {api_token(running)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
            wait_until(lambda: _ready_http(http, "tensorboard"), 90, what="tensorboard ready")
            with http.stream("GET", "/api/services/tensorboard/logs/stream", params={"tail": 5}) as resp:
                lines = resp.iter_lines()
                _, first = _sse_events(lines, lambda e, d: e == "lines")
                assert first["initial"] is True and 0 < len(first["lines"]) <= 5
                # A restart makes TensorBoard print its banner again: those lines arrive live.
                assert http.post("/api/services/tensorboard/restart").status_code == 200
                _sse_events(
                    lines,
                    lambda e, d: e == "lines" and not d.get("initial") and any("TensorBoard" in x for x in d["lines"]),
                )


def _ready_http(http, name):
    body = http.get("/api/services").json()
    s = next(s for s in body["services"] if s["name"] == name)
    return s["state"] == "running" and s["ready"]


def _state(data, name):
    return next(s["state"] for s in data["services"] if s["name"] == name)

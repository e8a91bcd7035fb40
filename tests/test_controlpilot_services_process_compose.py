"""The services API over the process-compose backend.

No process-compose binary is installed here: the backend talks to a loopback server
that speaks process-compose's REST shapes (swagger v1.122) with real state. The
supervisord backend runs for real in test_controlpilot_services_e2e.py.
"""

from __future__ import annotations

import time

import pytest

from lorapilot.stack.services import ManagerInfo
from lorapilot.stack.workspace.secrets import set_secret
from support.api import make_client
from support.fake_process_compose import FakeProcessCompose
from support.workspaces import make_workspace


@pytest.fixture
def setup(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "tensorboard"})
    set_secret(ctx.workspace.secrets_file, "PROCESS_COMPOSE_TOKEN", "pc-token")
    with FakeProcessCompose("pc-token", [p.name for p in ctx.plan()]) as fake:
        ctx.workspace.generated.mkdir(parents=True, exist_ok=True)
        ManagerInfo(backend="process-compose", port=fake.port).save(ctx.workspace)
        yield make_client(ctx), fake


def _services(client) -> dict:
    body = client.get("/api/services").json()
    assert body["backend"] == "process-compose" and body["running"] is True, body
    return {s["name"]: s for s in body["services"]}


def test_list_stop_start_restart_and_logs_through_process_compose(setup):
    client, fake = setup
    services = _services(client)
    assert set(services) == {"controlpilot", "tensorboard"}
    assert services["tensorboard"]["state"] == "running" and services["tensorboard"]["ready"] is True
    assert services["tensorboard"]["uptime_s"] == 12.0

    stopped = client.post("/api/services/tensorboard/stop")
    assert stopped.status_code == 200 and stopped.json()["state"] == "exited"
    assert ("PATCH", "/process/stop/tensorboard") in fake.requests
    assert _services(client)["tensorboard"]["state"] == "exited"  # the snapshot was refreshed

    started = client.post("/api/services/tensorboard/start").json()
    assert started["state"] == "running" and started["pid"] != services["tensorboard"]["pid"]
    restarted = client.post("/api/services/tensorboard/restart").json()
    assert restarted["restarts"] == 1

    lines = client.get("/api/services/tensorboard/logs", params={"tail": 3}).json()["lines"]
    assert lines == fake.procs["tensorboard"]["logs"][-3:] and lines[-1] == "tensorboard restarted"


def test_a_wrong_process_compose_token_is_reported_not_a_crash(setup):
    client, fake = setup
    fake.token = "rotated"
    body = client.get("/api/services").json()
    assert body["running"] is False and "refused the API token" in body["message"]
    assert {s["state"] for s in body["services"]} == {"unknown"}
    resp = client.post("/api/services/tensorboard/stop")
    assert resp.status_code == 400 and "refused the API token" in resp.json()["detail"]


def test_after_an_idle_spell_the_list_is_fresh_not_the_last_one_seen(setup):
    client, fake = setup
    monitor = client.app.state.runtime.monitor
    monitor.idle_stop_s = 0  # nobody watching: the watcher stops after one poll
    assert _services(client)["tensorboard"]["state"] == "running"
    deadline = time.monotonic() + 10
    while monitor._thread is not None:
        assert time.monotonic() < deadline, "the watcher did not idle"
        time.sleep(0.05)
    fake.procs["tensorboard"]["status"] = "Completed"  # it crashed while nobody watched
    time.sleep(monitor.interval_s * 3)
    assert _services(client)["tensorboard"]["state"] == "exited"

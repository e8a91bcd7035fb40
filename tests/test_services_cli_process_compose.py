"""`lorapilot status | start | stop | restart | logs [-f] | urls` on the process-compose backend.

The real CLI runs against a loopback server that speaks process-compose's REST API
(tests/support/fake_process_compose.py, checked against the swagger in
test_process_compose_client.py); the supervisord side is tests/test_up_supervisord_e2e.py.
"""

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from lorapilot.stack.services.base import ManagerInfo
from lorapilot.stack.workspace import init_workspace
from lorapilot.stack.workspace.secrets import read_secrets
from support.fake_process_compose import FakeProcessCompose
from support.running import lorapilot, wait_for
from support.workspaces import make_workspace

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def pc(tmp_path):
    """A workspace whose manager.json points at a process-compose API on loopback."""
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "tensorboard", "comfyui"})
    init_workspace(ctx)
    token = read_secrets(ctx.workspace.secrets_file)["PROCESS_COMPOSE_TOKEN"]
    installed = [p.name for p in ctx.plan(False) if p.installed]
    with FakeProcessCompose(token, installed, exit_on_stop=True) as fake:
        ManagerInfo("process-compose", fake.port).save(ctx.workspace)
        yield ctx, fake


def test_status_shows_states_and_the_install_command(pc):
    ctx, fake = pc
    fake.procs["tensorboard"]["status"] = "Completed"
    rows = {s["name"]: s for s in json.loads(lorapilot(ctx, "status", "--json").stdout)}
    assert rows["controlpilot"]["state"] == "running" and rows["controlpilot"]["ready"] is True
    assert rows["tensorboard"]["state"] == "exited"
    assert rows["comfyui"]["state"] == "not_installed"
    assert rows["comfyui"]["install_hint"] == "lorapilot install comfyui"

    table = lorapilot(ctx, "status").stdout.splitlines()
    comfy = next(line for line in table if line.startswith("comfyui"))
    assert "not installed" in comfy and "lorapilot install comfyui" in comfy
    control = next(line for line in table if line.startswith("controlpilot"))
    assert control.split()[1:3] == ["running", "yes"]


def test_start_stop_restart_go_through_the_api(pc):
    ctx, fake = pc
    assert lorapilot(ctx, "stop", "tensorboard").stdout.strip() == "stop: tensorboard"
    assert fake.procs["tensorboard"]["status"] == "Completed"
    lorapilot(ctx, "start", "tensorboard")
    lorapilot(ctx, "restart", "tensorboard")
    assert fake.procs["tensorboard"]["restarts"] == 1
    assert [r for r in fake.requests if "tensorboard" in r[1]] == [
        ("PATCH", "/process/stop/tensorboard"),
        ("POST", "/process/start/tensorboard"),
        ("POST", "/process/restart/tensorboard"),
    ]
    refused = lorapilot(ctx, "start", "comfyui", check=False)
    assert refused.returncode == 1 and "lorapilot install comfyui" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not any("comfyui" in path for _, path in fake.requests)


def test_logs_come_from_the_api(pc):
    ctx, fake = pc
    out = lorapilot(ctx, "logs", "controlpilot", "-n", "2").stdout.splitlines()
    assert out == ["controlpilot line 3", "controlpilot line 4"]
    assert ("GET", "/process/logs/controlpilot/0/2") in fake.requests


def test_logs_follow_prints_new_lines_once_and_stops_on_ctrl_c(pc):
    ctx, _ = pc
    log = ctx.workspace.log_file("tensorboard")
    log.write_text("old 1\nold 2\nold 3\nhalf a li")  # process-compose's log_location for it
    env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lorapilot",
            "logs",
            "tensorboard",
            "-f",
            "-n",
            "2",
            "--workspace",
            str(ctx.workspace.root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(line.rstrip("\n") for line in proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: seen == ["old 2", "old 3"], timeout=30, what="the last two lines")
        with log.open("a") as fh:
            fh.write("ne\nnew 1\n")
            fh.flush()
            wait_for(lambda: len(seen) >= 4, timeout=30, what="the completed line and a new one")
            fh.write("new 2\n")
        wait_for(lambda: len(seen) >= 5, timeout=30, what="a later line")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
    reader.join(timeout=10)
    assert seen == ["old 2", "old 3", "half a line", "new 1", "new 2"]
    assert "Traceback" not in proc.stderr.read()


def test_urls_lists_every_service_and_flags_what_is_not_installed(pc):
    ctx, _ = pc
    lines = lorapilot(ctx, "urls").stdout.splitlines()
    for name in ("controlpilot", "tensorboard"):
        comp = ctx.registry.get(name)
        assert any(f"http://localhost:{comp.port}{comp.spec.url_path}" in line.split() for line in lines), lines
    comfy = next(line for line in lines if "ComfyUI" in line)
    assert f":{ctx.registry.get('comfyui').port}/" in comfy and "not installed: lorapilot install comfyui" in comfy


def test_a_wrong_token_is_one_clear_line(pc):
    ctx, fake = pc
    fake.token = "something else"
    result = lorapilot(ctx, "status", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "refused the API token" in result.stderr and "PROCESS_COMPOSE_TOKEN" in result.stderr


def test_down_stops_the_project_and_forgets_the_manager(pc):
    ctx, fake = pc
    result = lorapilot(ctx, "down", "--keep-training")
    assert result.stdout.splitlines()[0] == "stopped"
    assert fake.stopped_project and ("POST", "/project/stop") in fake.requests
    assert not ManagerInfo.path(ctx.workspace).exists()
    after = lorapilot(ctx, "status", check=False)
    assert after.returncode == 1 and "not running" in after.stderr


def test_a_reader_that_goes_away_ends_quietly(pc):
    """`lorapilot logs NAME -f | head`: more than a pipe holds, then the reader leaves."""
    ctx, _ = pc
    ctx.workspace.log_file("tensorboard").write_text("".join(f"line {i}\n" for i in range(50_000)))
    env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lorapilot",
            "logs",
            "tensorboard",
            "-f",
            "-n",
            "50000",
            "--workspace",
            str(ctx.workspace.root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()
    try:
        assert proc.wait(timeout=60) == 1  # click's own quiet exit on EPIPE
    finally:
        proc.kill()
    assert proc.stderr.read() == b""

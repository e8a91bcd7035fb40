"""End to end: `lorapilot up` under a real supervisord, real services, real signals."""

import json
import os
import signal

import httpx
import psutil
import pytest
from support.running import lorapilot, running, wait_for, workspace_processes
from support.workspaces import make_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _status(ctx):
    return {s["name"]: s for s in json.loads(lorapilot(ctx, "status", "--json").stdout)}


def test_up_stop_restart_after_kill_and_down(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "tensorboard"})
    with running(ctx):
        # Both services become healthy.
        status = wait_for(
            lambda: (s := _status(ctx)) and all(s[n]["ready"] for n in ("controlpilot", "tensorboard")) and s,
            what="controlpilot and tensorboard ready",
        )
        assert status["controlpilot"]["state"] == "running"
        port = ctx.registry.get("controlpilot").port
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").json()["status"] == "ok"
        assert status["tensorboard"]["memory_bytes"] > 0

        # `lorapilot stop tensorboard` stops it.
        lorapilot(ctx, "stop", "tensorboard")
        status = _status(ctx)
        assert status["tensorboard"]["state"] == "stopped"
        assert not psutil.pid_exists(status["tensorboard"]["pid"] or -1)
        lorapilot(ctx, "start", "tensorboard")
        old_pid = wait_for(lambda: _status(ctx)["tensorboard"]["pid"], what="tensorboard pid")

        # kill -9 is followed by an automatic restart.
        os.kill(old_pid, signal.SIGKILL)
        status = wait_for(
            lambda: (s := _status(ctx)) and s["tensorboard"]["pid"] not in (None, old_pid) and s["tensorboard"]["ready"] and s,
            what="tensorboard restarted",
        )
        assert status["tensorboard"]["restarts"] == 1

        logs = lorapilot(ctx, "logs", "tensorboard", "--tail", "50").stdout
        assert "TensorBoard" in logs
        assert workspace_processes(ctx.workspace.root)

    # `lorapilot down` leaves no process behind.
    wait_for(lambda: not workspace_processes(ctx.workspace.root), timeout=30, what="no process left")
    assert lorapilot(ctx, "status", check=False).returncode == 1


def test_not_installed_component_is_shown_with_its_install_command(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "comfyui"})
    with running(ctx):
        status = _status(ctx)
        assert status["comfyui"]["state"] == "not_installed"
        assert status["comfyui"]["install_hint"] == "lorapilot install comfyui"
        result = lorapilot(ctx, "start", "comfyui", check=False)
        assert result.returncode == 1 and "lorapilot install comfyui" in result.stderr


def test_second_up_is_refused_while_running(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    with running(ctx):
        result = lorapilot(ctx, "up", "--backend", "supervisord", "--detach", check=False)
        assert result.returncode == 1 and "already runs" in result.stderr

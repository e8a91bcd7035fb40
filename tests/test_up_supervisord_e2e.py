"""End to end: `lorapilot up` under a real supervisord, real services, real signals."""

import json
import os
import signal
import subprocess
import sys
import threading

import httpx
import psutil
import pytest

from lorapilot.stack.services.base import ManagerInfo
from support.running import lorapilot, running, wait_for, workspace_processes
from support.workspaces import make_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _status(ctx):
    return {s["name"]: s for s in json.loads(lorapilot(ctx, "status", "--json").stdout)}


def _follow(ctx, name):
    """`lorapilot logs NAME -f` in the background; returns the process and the lines it printed so far."""
    env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lorapilot", "logs", name, "-f", "-n", "1", "--workspace", str(ctx.workspace.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen: list[str] = []
    threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True).start()
    return proc, seen


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
        urls = lorapilot(ctx, "urls").stdout
        for name in ("controlpilot", "tensorboard"):
            assert f"http://localhost:{ctx.registry.get(name).port}/" in urls

        # `lorapilot stop tensorboard` stops it.
        lorapilot(ctx, "stop", "tensorboard")
        status = _status(ctx)
        assert status["tensorboard"]["state"] == "stopped"
        assert not psutil.pid_exists(status["tensorboard"]["pid"] or -1)
        lorapilot(ctx, "start", "tensorboard")
        old_pid = wait_for(lambda: _status(ctx)["tensorboard"]["pid"], what="tensorboard pid")
        wait_for(lambda: _status(ctx)["tensorboard"]["ready"], what="tensorboard ready again")

        # kill -9 is followed by an automatic restart, which `logs -f` shows as it happens.
        follower, seen = _follow(ctx, "tensorboard")
        try:
            wait_for(lambda: seen, timeout=30, what="the follower's first line (its offset is taken)")
            os.kill(old_pid, signal.SIGKILL)
            status = wait_for(
                lambda: (
                    (s := _status(ctx))
                    and s["tensorboard"]["pid"] not in (None, old_pid)
                    and s["tensorboard"]["ready"]
                    and s
                ),
                what="tensorboard restarted",
            )
            assert status["tensorboard"]["restarts"] == 1
            wait_for(
                lambda: any("TensorBoard" in line for line in seen[1:]), timeout=30, what="the restart in `logs -f`"
            )
        finally:
            follower.send_signal(signal.SIGINT)
            assert follower.wait(timeout=30) == 130
        assert "Traceback" not in follower.stderr.read()

        logs = lorapilot(ctx, "logs", "tensorboard", "--tail", "50").stdout
        assert "TensorBoard" in logs
        assert {p.pid for p in workspace_processes(ctx.workspace.root)} >= {
            status["controlpilot"]["pid"],
            status["tensorboard"]["pid"],
        }

        # `lorapilot down` leaves no process behind (checked before `running` cleans up).
        assert lorapilot(ctx, "down").stdout.splitlines()[0] == "stopped"
        wait_for(lambda: not workspace_processes(ctx.workspace.root), timeout=5, what="no process left after down")
        assert not psutil.pid_exists(status["controlpilot"]["pid"])
    result = lorapilot(ctx, "status", check=False)
    assert result.returncode == 1 and "not running" in result.stderr


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


def test_up_in_the_foreground_runs_until_stopped_and_leaves_nothing(tmp_path):
    """`lorapilot up --backend supervisord` without --detach: supervisord runs under lorapilot's view; SIGTERM ends all."""
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lorapilot", "up", "--backend", "supervisord", "--workspace", str(ctx.workspace.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        wait_for(lambda: ManagerInfo.load(ctx.workspace) and _alive(ctx), what="supervisord answering")
        status = wait_for(lambda: (s := _status(ctx)) and s["controlpilot"]["ready"] and s, what="controlpilot ready")
        service_pid = status["controlpilot"]["pid"]
        # supervisord is lorapilot's child, so the service is its descendant.
        assert service_pid in {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not workspace_processes(ctx.workspace.root), timeout=5, what="no process left")
    out = proc.stdout.read()
    assert "Traceback" not in out
    # Not a terminal: the view printed once; supervisord's own lines went to its log, not here.
    assert f"http://localhost:{ctx.registry.get('controlpilot').port}/" in out
    assert "lorapilot secrets show CONTROLPILOT_PASSWORD" in out and "Ctrl-C stops everything" in out
    assert "supervisord started" not in out and "CRIT" not in out
    assert "supervisord started" in (ctx.workspace.logs / "supervisord.log").read_text()


def test_up_in_a_terminal_shows_a_live_view(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path), TTY_COMPATIBLE="1", COLUMNS="120")
    out_path = tmp_path / "terminal.txt"
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lorapilot",
                "up",
                "--backend",
                "supervisord",
                "--workspace",
                str(ctx.workspace.root),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            wait_for(
                lambda: "yes" in out_path.read_text() and "running" in out_path.read_text(),
                timeout=90,
                what="the live view showing controlpilot running and ready",
            )
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    screen = out_path.read_text()
    assert "\x1b[2K" in screen  # redrawn in place (erase line)
    assert "ControlPilot" in screen and f"http://localhost:{ctx.registry.get('controlpilot').port}/" in screen
    assert "stopping every service" in screen and "supervisord started" not in screen
    wait_for(lambda: not workspace_processes(ctx.workspace.root), timeout=10, what="no process left")


def _alive(ctx):
    from lorapilot.stack.services import get_manager

    return get_manager(ctx, plans=[]).alive()


def test_up_no_tui_prints_the_view_once_even_on_a_terminal(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path), TTY_COMPATIBLE="1", COLUMNS="120")
    out_path = tmp_path / "terminal.txt"
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lorapilot",
                "up",
                "--backend",
                "supervisord",
                "--no-tui",
                "--workspace",
                str(ctx.workspace.root),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            wait_for(lambda: "Ctrl-C stops everything" in out_path.read_text(), timeout=90, what="the view")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    screen = out_path.read_text()
    assert screen.count("Ctrl-C stops everything") == 1 and "\x1b[1A" not in screen and "\x1b[2K" not in screen
    wait_for(lambda: not workspace_processes(ctx.workspace.root), timeout=10, what="no process left")

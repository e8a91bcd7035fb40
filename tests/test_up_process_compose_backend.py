"""`lorapilot up` picks process-compose when it is on PATH and starts it the way its CLI expects.

No process-compose binary exists here, so a stand-in executable on PATH
(tests/support/fake_process_compose_cli.py) records its argv and token and serves
the swagger-shaped REST API on the port it was given.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lorapilot.stack.services.base import ManagerInfo
from lorapilot.stack.workspace.secrets import read_secrets
from support.workspaces import make_workspace

pytestmark = pytest.mark.timeout(180)
FAKE = Path(__file__).parent / "support" / "fake_process_compose_cli.py"


@pytest.fixture
def on_path(tmp_path):
    """A PATH with `process-compose` first, and where the stand-in writes down its call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "process-compose"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    exe.chmod(0o755)
    record = tmp_path / "call.json"
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", FAKE_PC_RECORD=str(record))
    return env, record


def _cli(ctx, env, *args):
    env = dict(env, LORAPILOT_MANIFEST=str(ctx.manifest.path))
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", *args, "--workspace", str(ctx.workspace.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_up_detach_starts_process_compose_on_loopback_with_the_token(tmp_path, on_path):
    env, record = on_path
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "tensorboard"})
    up = _cli(ctx, env, "up", "--detach")  # --backend auto
    assert up.returncode == 0, up.stderr
    assert "backend process-compose" in up.stdout

    call = json.loads(record.read_text())
    config = ctx.workspace.generated / "process-compose.yaml"
    assert call["argv"] == [
        "up",
        "-f",
        str(config),
        "--port",
        str(ctx.settings.manager.port),
        "--address",
        "127.0.0.1",
        "--tui=false",
        "--detached",
    ]
    token = read_secrets(ctx.workspace.secrets_file)["PROCESS_COMPOSE_TOKEN"]
    assert call["token"] == token and len(token) >= 20  # process-compose refuses shorter tokens
    secrets = read_secrets(ctx.workspace.secrets_file).values()
    assert not any(value in config.read_text() + up.stdout + up.stderr for value in secrets)
    assert ManagerInfo.load(ctx.workspace) == ManagerInfo("process-compose", ctx.settings.manager.port)

    try:
        status = json.loads(_cli(ctx, env, "status", "--json").stdout)
        assert {s["name"]: s["state"] for s in status} == {"controlpilot": "running", "tensorboard": "running"}
        again = _cli(ctx, env, "up", "--detach")
        assert again.returncode == 1 and "already runs" in again.stderr
    finally:
        down = _cli(ctx, env, "down", "--keep-training")
    assert down.returncode == 0 and down.stdout.splitlines()[0] == "stopped", down.stderr
    after = _cli(ctx, env, "status")
    assert after.returncode == 1 and "not running" in after.stderr


def test_process_compose_that_refuses_to_start_is_one_clear_line(tmp_path, on_path):
    env, _ = on_path
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    result = _cli(ctx, dict(env, FAKE_PC_FAIL="1"), "up", "--detach")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "process-compose did not start" in result.stderr and "is broken" in result.stderr
    assert ManagerInfo.load(ctx.workspace) is None


def test_explicit_process_compose_without_the_binary_says_what_to_do(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    env = dict(os.environ, PATH=str(tmp_path / "empty"))
    env.pop("LORAPILOT_WORKSPACE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lorapilot",
            "up",
            "--backend",
            "process-compose",
            "--detach",
            "--workspace",
            str(ctx.workspace.root),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "process-compose is not on PATH" in result.stderr and "--backend supervisord" in result.stderr


@pytest.mark.parametrize("flags, tail", [([], []), (["--no-tui"], ["--tui=false"])], ids=["tui", "no-tui"])
def test_up_in_the_foreground_execs_process_compose(tmp_path, on_path, flags, tail):
    """`nix run .#lorapilot` (TUI) and the OCI image (`--no-tui`): process-compose replaces lorapilot."""
    env, record = on_path
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    result = _cli(ctx, env, "up", *flags)
    assert result.returncode == 0, result.stderr
    call = json.loads(record.read_text())
    assert call["argv"] == [
        "up",
        "-f",
        str(ctx.workspace.generated / "process-compose.yaml"),
        "--port",
        str(ctx.settings.manager.port),
        "--address",
        "127.0.0.1",
        *tail,
    ]
    assert call["token"] == read_secrets(ctx.workspace.secrets_file)["PROCESS_COMPOSE_TOKEN"]

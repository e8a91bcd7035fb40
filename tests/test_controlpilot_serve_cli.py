"""`lorapilot controlpilot serve` and `token`: real processes, real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from lorapilot.stack.workspace.secrets import read_secrets
from support.serve_process import wait_until_healthy
from support.workspaces import free_port


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_token_commands_print_the_token_once_and_store_only_a_hash(ctx):
    ws = str(ctx.workspace.root)
    created = _cli("controlpilot", "token", "create", "backup-script", "--workspace", ws)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("lpt_") and "will not be shown again" in created.stderr
    stored = (ctx.workspace.config / "controlpilot-tokens.json").read_text()
    assert secret not in stored
    listed = _cli("controlpilot", "token", "list", "--workspace", ws)
    assert "backup-script" in listed.stdout and secret not in listed.stdout
    revoked = _cli("controlpilot", "token", "revoke", "backup-script", "--workspace", ws)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    missing = _cli("controlpilot", "token", "revoke", "backup-script", "--workspace", ws)
    assert missing.returncode == 1 and "no API token 'backup-script'" in missing.stderr


def test_serve_on_a_network_address_generates_a_password_and_stops_with_a_stream_open(ctx):
    port = free_port()
    env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lorapilot",
            "controlpilot",
            "serve",
            "--workspace",
            str(ctx.workspace.root),
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(proc, base)
        secrets_file = ctx.workspace.secrets_file
        assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
        password = read_secrets(secrets_file)["CONTROLPILOT_PASSWORD"]
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/api/services").status_code == 401
            assert http.post("/api/auth/login", json={"password": password}).status_code == 200
            assert http.get("/api/services").status_code == 200
            with http.stream("GET", "/api/events") as resp:
                next(resp.iter_lines())  # a live stream is open while the server is told to stop
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
        assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
        output = proc.stdout.read()
        assert "Finished server process" in output or "Shutting down" in output
        assert "lorapilot secrets show CONTROLPILOT_PASSWORD" in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

"""The launcher every rendered service runs through: secrets in, waits, exec."""

import http.server
import subprocess
import sys
import threading
import time

from lorapilot.stack.service_launch import NOT_INSTALLED_EXIT
from support.workspaces import free_port


def _launch(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "lorapilot.stack.service_launch", *args], capture_output=True, text=True, **kwargs
    )


def test_exports_only_named_secrets(tmp_path):
    secrets = tmp_path / "secrets.env"
    secrets.write_text("CODE_SERVER_PASSWORD=s3cret\nOTHER=nope\n")
    result = _launch(
        "--secrets-file",
        str(secrets),
        "--secret",
        "PASSWORD=CODE_SERVER_PASSWORD",
        "--secret",
        "MISSING=NOT_THERE",
        "--",
        sys.executable,
        "-c",
        "import os; print(os.environ.get('PASSWORD'), os.environ.get('OTHER'), os.environ.get('MISSING'))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "s3cret None None"


def test_execs_in_place_keeping_the_pid():
    result = _launch("--", sys.executable, "-c", "import os; print(os.getpid())")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lorapilot.stack.service_launch",
            "--",
            sys.executable,
            "-c",
            "import os,time; print(os.getpid(), flush=True); time.sleep(5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert int(proc.stdout.readline()) == proc.pid
    finally:
        proc.kill()
        proc.wait()
    assert result.returncode == 0


def test_missing_program_says_not_installed(tmp_path):
    result = _launch("--name", "comfyui", "--", str(tmp_path / "nope" / "python"))
    assert result.returncode == NOT_INSTALLED_EXIT
    assert "lorapilot install comfyui" in result.stderr


def test_waits_for_dependency_before_starting():
    port = free_port()
    started = time.monotonic()

    def serve_later():
        time.sleep(1.5)
        server = http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
        server.timeout = 5
        server.handle_request()
        server.handle_request()
        server.server_close()

    thread = threading.Thread(target=serve_later)
    thread.start()
    result = _launch("--wait-http", f"http://127.0.0.1:{port}/", "--", sys.executable, "-c", "print('go')", cwd="/")
    thread.join()
    assert result.returncode == 0 and result.stdout.strip().endswith("go")
    assert time.monotonic() - started >= 1.5
    assert "waits for" in result.stdout


def test_gives_up_after_wait_timeout():
    port = free_port()
    result = _launch(
        "--wait-http", f"http://127.0.0.1:{port}/", "--wait-timeout", "1", "--", sys.executable, "-c", "print('never')"
    )
    assert result.returncode == 1 and "never" not in result.stdout
    assert "gave up waiting" in result.stderr


def test_the_components_bin_comes_first_on_path(tmp_path):
    """An npm entry point (`#!/usr/bin/env node`) must run on the env's own node, not the system's."""
    bin_dir = tmp_path / "env" / "bin"
    bin_dir.mkdir(parents=True)
    fake_interp = bin_dir / "lp-interp"
    fake_interp.write_text('#!/bin/sh\necho "env interpreter ran $1"\n')
    fake_interp.chmod(0o755)
    script = bin_dir / "tool"
    script.write_text("#!/usr/bin/env lp-interp\n")
    script.chmod(0o755)
    assert _launch("--", str(script)).returncode != 0  # lp-interp is on no system PATH
    result = _launch("--path", str(bin_dir), "--", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"env interpreter ran {script}"

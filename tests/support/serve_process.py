"""``lorapilot controlpilot serve`` as a real child process on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from lorapilot.stack.context import Context

from .workspaces import free_port


def wait_until_healthy(proc: subprocess.Popen, base: str, timeout: float = 60) -> None:
    """Wait for ``GET /api/health`` to answer; fail with the server's output if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"controlpilot serve did not come up on {base}:\n{proc.communicate()[0]}")
        time.sleep(0.1)


@contextlib.contextmanager
def serve_process(ctx: Context, env: dict | None = None) -> Iterator[str]:
    """Run ControlPilot for ``ctx`` in its own process (uvicorn on 127.0.0.1); yields the base URL.

    Login is enforced only when the workspace says ``[controlpilot] auth = "always"``.
    """
    port = free_port()
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
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path), **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(proc, base)
        yield base
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

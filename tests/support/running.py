"""Run a real LoRA Pilot (supervisord backend) in a temporary workspace."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from lorapilot.stack.context import Context


def lorapilot(ctx: Context, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real CLI against ``ctx``'s workspace and manifest."""
    env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path))
    result = subprocess.run(
        [sys.executable, "-m", "lorapilot", *args, "--workspace", str(ctx.workspace.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"lorapilot {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def workspace_processes(root: Path) -> list[psutil.Process]:
    """Live processes whose command line mentions the workspace (our services)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(str(root) in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wait_for(predicate, timeout: float = 60, interval: float = 0.3, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}")


@contextlib.contextmanager
def running(ctx: Context):
    """``lorapilot up --backend supervisord --detach`` ... ``lorapilot down``, never leaking processes.

    Yields what `up` printed (its CompletedProcess)."""
    up = lorapilot(ctx, "up", "--backend", "supervisord", "--detach")
    try:
        yield up
    finally:
        lorapilot(ctx, "down", check=False)
        for proc in workspace_processes(ctx.workspace.root):
            with contextlib.suppress(psutil.Error):
                proc.kill()

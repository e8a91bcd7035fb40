"""A real workspace running under a real supervisord, for end-to-end tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from lorapilot.context import Context

from .workspaces import make_workspace


def lorapilot(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the ``lorapilot`` CLI of this environment; raises with its output on failure."""
    result = subprocess.run([sys.executable, "-m", "lorapilot", *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"lorapilot {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@contextlib.contextmanager
def running_workspace(root: Path, enabled: set[str], **kwargs) -> Iterator[Context]:
    """``lorapilot up --backend supervisord --detach`` in a fresh workspace; always ``down`` after."""
    ctx = make_workspace(root, enabled=enabled, **kwargs)
    lorapilot("up", "--backend", "supervisord", "--detach", "--workspace", str(root))
    try:
        yield ctx
    finally:
        lorapilot("down", "--workspace", str(root))


def wait_until(check: Callable[[], object], timeout: float = 60, what: str = "condition", period: float = 0.2):
    """Poll ``check`` until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(period)

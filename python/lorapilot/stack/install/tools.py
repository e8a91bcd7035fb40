"""Run the external tools an install needs (git, uv, npm), with clear failures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import check_cancel

# What each tool is for and how to get it, for the "not installed" message.
HOW_TO_GET = {
    "git": "install git (Debian/Ubuntu: apt-get install git)",
    "uv": f"install uv ({sys.executable} -m pip install uv, or see https://docs.astral.sh/uv/)",
    "npm": "install Node.js with npm (Debian/Ubuntu: apt-get install nodejs npm)",
}

# Messages tools print when the network is not there.
_OFFLINE = re.compile(
    r"could not resolve host|couldn't resolve|name or service not known|temporary failure in name resolution"
    r"|network is unreachable|failed to connect|connection refused|connection timed out|timed out"
    r"|network was disabled|enotfound|eai_again|econnrefused|etimedout|failed to fetch|dns error",
    re.IGNORECASE,
)


class ToolError(LorapilotError):
    """An external tool failed; the message says what was being done and why."""


def require(tool: str, purpose: str) -> str:
    """The path of ``tool``, or a clear error naming what it is needed for."""
    # The project's own environment first (a venv's bin/ is often not on PATH): `pip install uv` puts it there.
    beside = Path(sys.executable).parent / tool
    found = str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which(tool)
    if found is None:
        raise ToolError(f"{tool} is not installed, and it is needed to {purpose}: {HOW_TO_GET.get(tool, 'install it')}")
    return found


def looks_offline(output: str) -> bool:
    return bool(_OFFLINE.search(output))


def run(
    argv: list[str],
    *,
    doing: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    network: str | None = None,
) -> str:
    """Run ``argv``; stream its output lines to ``on_line``; return the output.

    On failure raise :class:`ToolError` saying what was being done (``doing``),
    with the tool's last lines, and, when they look like a network failure, that
    ``network`` (what it tried to reach) could not be reached.
    """
    check_cancel(cancel)
    merged_env = {**os.environ, **(env or {})}
    tail: deque[str] = deque(maxlen=15)
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=merged_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            # uv, npm and git redraw lines with \r: the last part is the current state.
            line = raw.rstrip("\n").split("\r")[-1].strip()
            if not line:
                continue
            tail.append(line)
            if on_line is not None:
                on_line(line)
            if cancel is not None and cancel.is_set():
                proc.terminate()
        code = proc.wait()
    check_cancel(cancel)
    output = "\n".join(tail)
    if code != 0:
        reason = ""
        if network and looks_offline(output):
            reason = f"cannot reach {network}: this machine looks offline (or the address is blocked). "
        raise ToolError(f"{doing} failed: {reason}{Path(argv[0]).name} exited with {code}:\n{output}")
    return output

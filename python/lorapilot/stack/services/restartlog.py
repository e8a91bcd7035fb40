"""Why a service was restarted: one JSON line per automatic restart, read back for the dashboard.

Written by the watchdog (:mod:`lorapilot.stack.watchdog`: a failed liveness probe, a crash loop
it recovered) in ``logs/restarts.jsonl``; supervisord's own restarts after an unexpected exit
are read from its log by the supervisord backend.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from lorapilot.kit.logtail import tail_lines
from lorapilot.stack.workspace.layout import Workspace

FILE_NAME = "restarts.jsonl"


def log_path(ws: Workspace) -> Path:
    return ws.logs / FILE_NAME


def record_restart(ws: Workspace, name: str, reason: str, at: float | None = None) -> None:
    """Append one restart with its reason (a single write: lines from two writers never mix)."""
    line = json.dumps({"at": at if at is not None else time.time(), "name": name, "reason": reason}) + "\n"
    ws.logs.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_path(ws), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def last_restarts(ws: Workspace, tail: int = 2000) -> dict[str, tuple[float, str]]:
    """The newest recorded restart of each service: name -> (time, reason)."""
    found: dict[str, tuple[float, str]] = {}
    for line in tail_lines(log_path(ws), tail):
        try:
            entry = json.loads(line)
            found[str(entry["name"])] = (float(entry["at"]), str(entry["reason"]))
        except (ValueError, KeyError, TypeError):
            continue
    return found

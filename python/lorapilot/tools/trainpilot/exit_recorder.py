"""Run one trainer command and record how it ended: ``python -m lorapilot.tools.trainpilot.exit_recorder --exit-file F -- argv...``.

The queue starts this as the leader of a new session, so the job outlives ControlPilot. Because
the trainer is then not a child of whoever re-attaches later, this small parent waits for it and
writes its exit status to ``F`` (atomically) for the queue to read. Signals to the process group
reach the trainer directly; this process only waits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from lorapilot.kit.fsutil import atomic_write_text

LAUNCHER_FILE = "launcher.json"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 4 or args[0] != "--exit-file" or args[2] != "--":
        print(
            "usage: python -m lorapilot.tools.trainpilot.exit_recorder --exit-file FILE -- COMMAND...", file=sys.stderr
        )
        return 2
    exit_file, command = Path(args[1]), args[3:]
    received: list[int] = []
    # Who we are, for a queue worker that died before it could record our pid.
    atomic_write_text(
        exit_file.with_name(LAUNCHER_FILE), json.dumps({"pid": os.getpid(), "started": psutil.Process().create_time()})
    )

    def note(signum, frame):  # a handler (not SIG_IGN) so the trainer starts with default dispositions
        received.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, note)
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        print(f"[trainpilot] cannot start {command[0]}: {exc}", flush=True)
        atomic_write_text(exit_file, json.dumps({"returncode": 127, "error": str(exc), "finished_at": time.time()}))
        return 127
    while True:
        try:
            code = child.wait()
            break
        except InterruptedError:
            continue
    result = {"returncode": code, "finished_at": time.time(), "signals": received}
    if code < 0:
        result["signal"] = -code
    atomic_write_text(exit_file, json.dumps(result))
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())

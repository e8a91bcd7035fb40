"""Run the Copilot CLI once: prompt on stdin, output streamed, the whole process group killed on timeout.

The CLI starts in a new session (its own process group), so a timeout or a
cancel can kill it together with every shell command its tools started. Any
descendant that moved to another group is found through psutil and killed
too: nothing a chat started outlives the chat.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

RunStatus = Literal["ok", "error", "timeout", "cancelled"]
OutputCallback = Callable[[str, str], None]  # (stream: "stdout" | "stderr", text)

# Output kept per stream; the rest is drained and dropped so the pipe never blocks the CLI.
MAX_CAPTURE_CHARS = 2_000_000
KILL_GRACE_S = 2.0
KILL_WAIT_S = 10.0
_READ_CHUNK = 8192


@dataclass
class RunResult:
    """What one CLI run produced."""

    stdout: str
    stderr: str
    exit_code: int | None
    duration_s: float
    status: RunStatus
    truncated: bool = False

    @property
    def timed_out(self) -> bool:
        return self.status == "timeout"


class _Capture:
    """Decode a byte stream incrementally, keep up to a limit, and report each piece."""

    def __init__(self, name: str, on_output: OutputCallback | None):
        self.name = name
        self.on_output = on_output
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self.decoder.decode(data, final=final)
        if not text:
            return
        room = MAX_CAPTURE_CHARS - self.size
        if room <= 0:
            self.truncated = True
            return
        if len(text) > room:
            text, self.truncated = text[:room], True
        self.parts.append(text)
        self.size += len(text)
        if self.on_output is not None:
            self.on_output(self.name, text)

    def text(self) -> str:
        return "".join(self.parts)


async def _pump(reader: asyncio.StreamReader, capture: _Capture) -> None:
    while True:
        data = await reader.read(_READ_CHUNK)
        if not data:
            capture.feed(b"", final=True)
            return
        capture.feed(data)


# Every process of a run inherits this variable, so one that left the process
# group and lost its parent is still found.
RUN_MARKER_ENV = "LORAPILOT_COPILOT_RUN"


def _run_processes(pid: int | None, marker: str) -> list[psutil.Process]:
    """The CLI's descendants plus any process carrying this run's marker."""
    found: dict[int, psutil.Process] = {}
    try:
        if pid is not None:
            for proc in psutil.Process(pid).children(recursive=True):
                found[proc.pid] = proc
    except psutil.Error:
        pass
    for proc in psutil.process_iter():
        if proc.pid in found:
            continue
        try:
            if proc.environ().get(RUN_MARKER_ENV) == marker:
                found[proc.pid] = proc
        except (psutil.Error, OSError):
            continue
    return list(found.values())


def kill_marked(marker: str, grace_s: float = KILL_GRACE_S) -> int:
    """Kill every process of an earlier run (found by its marker); returns how many there were.

    A sidecar that was killed outright could not clean up; the next one does.
    """
    found = _run_processes(None, marker)
    kill_tree(None, found, grace_s)
    return len(found)


def kill_tree(pgid: int | None, known: list[psutil.Process], grace_s: float = KILL_GRACE_S) -> None:
    """SIGTERM the process group and ``known`` descendants, then SIGKILL what is left."""

    def signal_all(sig: int) -> None:
        try:
            if pgid is not None:
                os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for proc in known:
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _group_alive(pgid) and not any(_alive(p) for p in known):
            return
        time.sleep(0.05)
    signal_all(signal.SIGKILL)
    # SIGKILL is delivered asynchronously: wait until every one is gone (or a zombie).
    deadline = time.monotonic() + KILL_WAIT_S
    while time.monotonic() < deadline and (any(_alive(p) for p in known) or _group_alive(pgid)):
        time.sleep(0.02)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_alive(pgid: int | None) -> bool:
    if pgid is None:
        return False
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # Zombies still count for killpg; look for a live member.
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error, OSError):
            continue
    return False


async def run_cli(
    argv: list[str],
    prompt: str,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    on_output: OutputCallback | None = None,
    cancel: asyncio.Event | None = None,
    marker: str | None = None,
) -> RunResult:
    """Run ``argv`` in ``cwd`` with ``prompt`` on stdin; stream output to ``on_output``.

    On ``timeout_s`` or when ``cancel`` is set, the CLI's process group (and
    any descendant outside it) is killed and the result says so. Processes left
    in the group after a normal exit are killed as well. ``marker`` (default: a
    fresh one) is put in the CLI's environment to find its processes later.
    """
    started = time.monotonic()
    marker = marker or uuid.uuid4().hex
    env = {**env, RUN_MARKER_ENV: marker}
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(cwd),
        env=env,
        start_new_session=True,
    )
    out, err = _Capture("stdout", on_output), _Capture("stderr", on_output)
    pumps = [asyncio.create_task(_pump(proc.stdout, out)), asyncio.create_task(_pump(proc.stderr, err))]
    feeder = asyncio.create_task(_feed_stdin(proc, prompt))
    waiter = asyncio.create_task(proc.wait())
    stopper = asyncio.create_task(cancel.wait()) if cancel is not None else None

    status: RunStatus
    try:
        done, _ = await asyncio.wait(
            [t for t in (waiter, stopper) if t is not None],
            timeout=timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if waiter in done:
            status = "ok" if proc.returncode == 0 else "error"
        else:
            status = "cancelled" if stopper is not None and stopper in done else "timeout"
    finally:
        # Whatever happened (even our own cancellation), nothing the chat started survives it.
        known = await asyncio.to_thread(_run_processes, proc.pid, marker)
        await asyncio.to_thread(kill_tree, proc.pid, known, 0.0 if proc.returncode is not None else KILL_GRACE_S)
        await proc.wait()
        if stopper is not None:
            stopper.cancel()
        feeder.cancel()
        # The pipes close once every holder is dead; don't wait forever on a stray holder.
        await asyncio.wait(pumps, timeout=5)
        for task in pumps:
            task.cancel()

    return RunResult(
        stdout=out.text(),
        stderr=err.text(),
        exit_code=proc.returncode,
        duration_s=round(time.monotonic() - started, 3),
        status=status,
        truncated=out.truncated or err.truncated,
    )


async def _feed_stdin(proc: asyncio.subprocess.Process, prompt: str) -> None:
    try:
        proc.stdin.write(prompt.encode("utf-8"))
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the CLI exited before reading its prompt; its exit code tells why
    finally:
        try:
            proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            pass

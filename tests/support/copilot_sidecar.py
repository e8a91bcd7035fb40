"""Start a real Copilot sidecar (``lorapilot copilot serve``) on a free loopback port."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from lorapilot.stack.context import Context
from lorapilot.tools.copilot.guard import secret_headers

from .fake_copilot import install_fake_copilot, path_with


@dataclass
class Sidecar:
    url: str
    proc: subprocess.Popen
    ctx: Context
    log: Path

    def client(self, timeout: float = 60, secret: bool = True) -> httpx.Client:
        """A client for the sidecar; it sends the shared secret as ControlPilot's proxy does."""
        headers = secret_headers(self.ctx.workspace.secrets_file) if secret else {}
        return httpx.Client(base_url=self.url, timeout=timeout, headers=headers)


@contextlib.contextmanager
def running_sidecar(
    ctx: Context,
    bin_dir: Path | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    fake: bool = True,
) -> Iterator[Sidecar]:
    """The sidecar for ``ctx`` on its configured (free) port, with the fake CLI first on PATH."""
    root = ctx.workspace.root
    bin_dir = bin_dir or root.parent / "bin"
    if fake:
        install_fake_copilot(bin_dir)
    port = ctx.registry.get("copilot").port
    child_env = {**os.environ, "PATH": path_with(bin_dir)}
    child_env.pop("LORAPILOT_COPILOT_CLI", None)
    child_env.update(env or {})
    log = root.parent / f"sidecar-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lorapilot",
                "copilot",
                "serve",
                "--workspace",
                str(root),
                "--port",
                str(port),
                *args,
            ],
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield Sidecar(url=url, proc=proc, ctx=ctx, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sidecar exited with {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"sidecar did not answer /health within {timeout}s: {log.read_text()}")


def read_sse(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    """(event, data) pairs from an SSE line iterator."""
    kind, data = None, []
    for line in lines:
        if line.startswith("event:"):
            kind = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].strip())
        elif line == "" and kind is not None:
            yield kind, json.loads("\n".join(data))
            kind, data = None, []


def is_dead(pid: int) -> bool:
    """Gone, or a zombie waiting to be reaped (it runs nothing any more)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True

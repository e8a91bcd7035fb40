"""``lorapilot up`` and ``down``: render, start the process manager, stop it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from lorapilot.kit.errors import ServiceError
from lorapilot.kit.fsutil import write_if_changed
from lorapilot.stack.context import Context
from lorapilot.stack.portcheck import check_ports_free
from lorapilot.stack.render import dump_yaml, render_process_compose, render_supervisord
from lorapilot.stack.render.supervisord import PASSWORD_ENV, pidfile
from lorapilot.stack.services import manager_for
from lorapilot.stack.services.base import Backend, ManagerInfo
from lorapilot.stack.workspace import InitReport, init_workspace, preflight
from lorapilot.stack.workspace.secrets import read_secrets

BACKENDS = ("auto", "process-compose", "supervisord")


@dataclass
class Rendered:
    process_compose: Path
    supervisord: Path


def render_texts(ctx: Context, gpu_available: bool | None = None) -> dict[Path, str]:
    """Both process-manager configurations, by the path they go to; nothing is written.

    Rendering both before writing either means a value one renderer refuses
    leaves no half-updated ``config/generated/``.
    """
    ws = ctx.workspace
    plans = ctx.plan(gpu_available)
    python = ctx.manifest.lorapilot_python
    return {
        ws.generated / "process-compose.yaml": dump_yaml(render_process_compose(ws, plans, python)),
        ws.generated / "supervisord.conf": render_supervisord(ws, plans, python, ctx.settings.manager.port),
    }


def write_rendered(texts: dict[Path, str]) -> Rendered:
    """Write what :func:`render_texts` returned (atomically, only what changed)."""
    for path, text in texts.items():
        write_if_changed(path, text)
    pc_path, sv_path = texts
    return Rendered(process_compose=pc_path, supervisord=sv_path)


def choose_backend(requested: str) -> Backend:
    """``auto`` picks process-compose when it is on PATH, else supervisord."""
    if requested == "auto":
        return "process-compose" if shutil.which("process-compose") else "supervisord"
    if requested == "supervisord":
        return "supervisord"
    if requested != "process-compose":
        raise ServiceError(f"unknown backend {requested!r}: use auto, process-compose or supervisord")
    if not shutil.which("process-compose"):
        raise ServiceError(
            "process-compose is not on PATH; use `--backend supervisord` or run through `nix run .#lorapilot`"
        )
    return "process-compose"


def _supervisord_pid(ctx: Context) -> int | None:
    try:
        pid = int(pidfile(ctx.workspace).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


def _already_running(ctx: Context) -> bool:
    info = ManagerInfo.load(ctx.workspace)
    return info is not None and manager_for(ctx, info, plans=[]).alive()


def up(
    ctx: Context,
    backend: str = "auto",
    tui: bool = True,
    detach: bool = False,
    tool_steps=None,
    watch: Callable[[subprocess.Popen], None] | None = None,
) -> tuple[InitReport, str]:
    """Initialise the workspace, render, and start the process manager.

    With ``detach`` it returns once the manager answers. Otherwise process-compose
    replaces this process (its TUI); supervisord, which has no view of its own, runs
    as a child (its own lines go to logs/, not the terminal) while ``watch(child)``
    shows the services, and this returns when supervisord has ended (without
    ``watch``, supervisord replaces this process too).
    """
    # Everything that can refuse does so before anything is written.
    preflight(ctx)
    texts = render_texts(ctx)
    backend = choose_backend(backend)
    if _already_running(ctx):
        raise ServiceError(
            f"LoRA Pilot already runs in {ctx.workspace.root}; use `lorapilot status` or `lorapilot down`"
        )
    starting = [(p.name, p.host, p.port) for p in ctx.plan(False) if p.autostart and p.installed and not p.oneshot]
    check_ports_free(ctx.workspace.settings_file, ctx.settings.manager.port, starting)
    report = init_workspace(ctx, tool_steps)
    rendered = write_rendered(texts)
    secrets = read_secrets(ctx.workspace.secrets_file)
    port = ctx.settings.manager.port
    env = dict(os.environ)
    if backend == "process-compose":
        env["PC_API_TOKEN"] = secrets["PROCESS_COMPOSE_TOKEN"]
        argv = [
            "process-compose",
            "up",
            "-f",
            str(rendered.process_compose),
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
        ]
        if not tui or detach:
            argv.append("--tui=false")
        if detach:
            argv.append("--detached")
        foreground = argv
    else:
        env[PASSWORD_ENV] = secrets["SUPERVISOR_PASSWORD"]
        argv = [sys.executable, "-m", "supervisor.supervisord", "-c", str(rendered.supervisord)]
        foreground = argv + ["--nodaemon"]
    ManagerInfo(backend, port).save(ctx.workspace)
    if not detach and backend == "supervisord" and watch is not None:
        with open(ctx.workspace.logs / "supervisord.console.log", "ab") as console:
            child = subprocess.Popen(foreground, env=env, stdin=subprocess.DEVNULL, stdout=console, stderr=console)
        watch(child)
        return report, backend
    if not detach:
        os.execvpe(foreground[0], foreground, env)
    # Both managers put themselves in the background and exit 0 once started.
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        ManagerInfo.clear(ctx.workspace)
        raise ServiceError(f"{backend} did not start: {(result.stderr or result.stdout).strip()}")
    manager = manager_for(ctx, ManagerInfo(backend, port), plans=[])
    deadline = time.monotonic() + 30
    while not manager.alive():
        if time.monotonic() > deadline:
            raise ServiceError(f"{backend} did not answer on 127.0.0.1:{port} within 30 s; see {ctx.workspace.logs}")
        time.sleep(0.2)
    return report, backend


def down(ctx: Context, timeout: float = 60) -> bool:
    """Stop every service and the manager; returns False when nothing was running."""
    info = ManagerInfo.load(ctx.workspace)
    if info is None:
        return False
    manager = manager_for(ctx, info, plans=[])
    if not manager.alive():
        ManagerInfo.clear(ctx.workspace)
        return False
    sv_pid = _supervisord_pid(ctx) if info.backend == "supervisord" else None
    manager.shutdown()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gone = not psutil.pid_exists(sv_pid) if sv_pid else not manager.alive()
        if gone:
            break
        time.sleep(0.2)
    else:
        raise ServiceError(f"{info.backend} did not stop within {timeout:.0f} s")
    ManagerInfo.clear(ctx.workspace)
    return True

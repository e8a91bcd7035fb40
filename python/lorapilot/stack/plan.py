"""Resolve the registry against one workspace: the processes to run.

Both renderers (process-compose, supervisord) and the service managers read
this plan, so ports, commands and probes are decided in one place only.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import ConfigError
from lorapilot.stack.component_paths import Manifest
from lorapilot.stack.components import Component, Registry, topological_order
from lorapilot.stack.components.spec import PostStart, Probe, Restart, Shutdown
from lorapilot.stack.workspace.layout import Workspace

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ProcessPlan:
    """One component, resolved: what to run, where, and how to tell it is ready."""

    name: str
    title: str
    description: str
    category: str
    port: int
    host: str
    url_path: str
    argv: list[str]
    cwd: Path | None
    env: dict[str, str]
    secret_env: dict[str, str]
    log_file: Path
    probe: Probe | None
    probe_exec: list[str] | None
    depends_on: list[str]
    autostart: bool
    gpu: bool
    shutdown: Shutdown
    restart: Restart
    installed: bool
    missing: str | None = None
    install_hint: str | None = None
    env_path: Path | None = None
    src_path: Path | None = None
    extra: dict = field(default_factory=dict)
    oneshot: bool = False  # a post-start task: runs to completion, has no port, is not restarted

    @property
    def probe_url(self) -> str | None:
        """The loopback URL of the HTTP readiness probe, if there is one."""
        if self.probe is None or self.probe.http is None:
            return None
        return f"http://{LOOPBACK}:{self.port}{self.probe.http}"

    def open_url(self, public_host: str = "localhost") -> str:
        """The URL a user opens in a browser."""
        return f"http://{public_host}:{self.port}{self.url_path}"


class _Expander(dict):
    def __init__(self, values: dict[str, str], where: str):
        super().__init__(values)
        self.where = where

    def __missing__(self, key: str) -> str:
        raise ConfigError(None, f"{self.where}: unknown placeholder {{{key}}}")


def _expand(template: str, values: dict[str, str], where: str) -> str:
    return template.format_map(_Expander(values, where))


def _placeholders(ws: Workspace, comp: Component, host: str, env: Path, src: Path, lp_python: Path) -> dict[str, str]:
    return {
        "port": str(comp.port),
        "host": host,
        "name": comp.name,
        "workspace": str(ws.root),
        "models": str(ws.models),
        "datasets": str(ws.datasets),
        "outputs": str(ws.outputs),
        "config": str(ws.config),
        "logs": str(ws.logs),
        "apps": str(ws.apps),
        "cache": str(ws.cache),
        "generated": str(ws.generated),
        "state": str(ws.state_dir(comp.name)),
        "env": str(env),
        "src": str(src),
        "python": str(env / "bin" / "python"),
        "bin": str(env / "bin"),
        "lorapilot_python": str(lp_python),
    }


def _missing_piece(argv: list[str], cwd: Path | None, uses_src: bool, src: Path) -> str | None:
    exe = argv[0]
    if os.sep in exe:
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            return exe
    elif shutil.which(exe) is None:
        return exe
    if uses_src and not src.is_dir():
        return str(src)
    if cwd is not None and not cwd.is_dir() and uses_src:
        return str(cwd)
    return None


def resolve_component(
    ws: Workspace,
    comp: Component,
    registry: Registry,
    manifest: Manifest,
    gpu_available: bool,
) -> ProcessPlan:
    """Turn one component into a :class:`ProcessPlan` for ``ws``."""
    spec = comp.spec
    loc = manifest.location(comp.name)
    builtin = spec.source.type == "builtin"
    env_path = loc.env or (manifest.lorapilot_python.parent.parent if builtin else ws.state_dir(comp.name) / ".venv")
    src_path = loc.src or ws.state_dir(comp.name) / "src"
    host = LOOPBACK if spec.loopback_only else registry.settings.host
    values = _placeholders(ws, comp, host, env_path, src_path, manifest.lorapilot_python)
    where = str(comp.spec_path)

    argv = [_expand(arg, values, f"{where}: run.command") for arg in spec.run.command]
    if spec.gpu and not gpu_available:
        argv += list(spec.run.args_without_gpu)
    cwd = Path(_expand(spec.run.cwd, values, f"{where}: run.cwd")) if spec.run.cwd else None
    env = {k: _expand(v, values, f"{where}: run.env.{k}") for k, v in spec.run.env.items()}
    env.update(comp.extra_env)

    probe_exec = None
    if spec.probe is not None and spec.probe.exec is not None:
        probe_exec = [_expand(a, values, f"{where}: probe.exec") for a in spec.probe.exec]

    uses_src = any("{src}" in t for t in [*spec.run.command, spec.run.cwd or ""])
    missing = None if builtin else _missing_piece(argv, cwd, uses_src, src_path)
    return ProcessPlan(
        name=comp.name,
        title=spec.title,
        description=spec.description,
        category=spec.category,
        port=comp.port,
        host=host,
        url_path=spec.url_path,
        argv=argv,
        cwd=cwd,
        env=env,
        secret_env=dict(spec.run.secret_env),
        log_file=ws.log_file(comp.name),
        probe=spec.probe,
        probe_exec=probe_exec,
        depends_on=list(spec.depends_on),
        autostart=comp.autostart,
        gpu=spec.gpu,
        shutdown=spec.shutdown,
        restart=spec.restart,
        installed=missing is None,
        missing=missing,
        install_hint=None if missing is None else f"lorapilot install {comp.name}",
        env_path=env_path,
        src_path=src_path,
    )


def resolve_post_start(
    ws: Workspace, comp: Component, task: PostStart, parent: ProcessPlan, manifest: Manifest
) -> ProcessPlan:
    """A component's ``[[post_start]]`` task as a one-shot process that depends on it."""
    # resolve_component always sets both paths on the plan it returns (the parent here).
    assert parent.env_path is not None and parent.src_path is not None, parent.name
    values = _placeholders(ws, comp, parent.host, parent.env_path, parent.src_path, manifest.lorapilot_python)
    name = f"{comp.name}-{task.name}"
    argv = [_expand(arg, values, f"{comp.spec_path}: post_start.{task.name}.command") for arg in task.command]
    return ProcessPlan(
        name=name,
        title=f"{parent.title}: {task.name}",
        description=task.description,
        category=parent.category,
        port=0,
        host=parent.host,
        url_path="/",
        argv=argv,
        cwd=None,
        env={},
        secret_env={},
        log_file=ws.log_file(name),
        probe=None,
        probe_exec=None,
        depends_on=[comp.name],
        autostart=parent.autostart,
        gpu=False,
        shutdown=Shutdown(),
        restart=Restart(policy="no", max_restarts=0),
        installed=parent.installed,
        missing=parent.missing,
        install_hint=parent.install_hint,
        oneshot=True,
    )


def build_plan(
    ws: Workspace,
    registry: Registry,
    manifest: Manifest,
    gpu_available: bool | None = None,
) -> list[ProcessPlan]:
    """Resolve every enabled component, dependencies first."""
    if gpu_available is None:
        from lorapilot.kit.nvml import gpu_available as detect

        gpu_available = detect()
    plans = []
    for comp in topological_order(registry):
        plan = resolve_component(ws, comp, registry, manifest, gpu_available)
        plans.append(plan)
        plans += [resolve_post_start(ws, comp, task, plan, manifest) for task in comp.spec.post_start]
    return plans

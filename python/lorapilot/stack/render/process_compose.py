"""Render the plan as a process-compose configuration (schema v1.122)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lorapilot.stack.plan import LOOPBACK, ProcessPlan
from lorapilot.stack.render.common import (
    PROJECT_NAME,
    base_environment,
    launch_argv,
    process_environment,
    watchdog_argv,
)
from lorapilot.stack.workspace.layout import Workspace

WATCHDOG = "lorapilot-watchdog"  # lorapilot.stack.watchdog.NAME (the renderer stays free of it)


def _probe(plan: ProcessPlan) -> dict[str, Any] | None:
    probe = plan.probe
    if probe is None:
        return None
    out: dict[str, Any] = {}
    if probe.http is not None:
        # process-compose reads the port from the string field `port`; `num_port` is derived.
        http: dict[str, Any] = {"host": LOOPBACK, "scheme": "http", "port": str(plan.port), "path": probe.http}
        if probe.status is not None:
            http["status_code"] = probe.status
        out["http_get"] = http
    else:
        import shlex

        exec_probe: dict[str, Any] = {"command": shlex.join(plan.probe_exec or [])}
        if plan.cwd:
            exec_probe["working_dir"] = str(plan.cwd)
        out["exec"] = exec_probe
    out.update(
        initial_delay_seconds=probe.initial_delay_s,
        period_seconds=probe.period_s,
        timeout_seconds=probe.timeout_s,
        success_threshold=1,
        failure_threshold=probe.failure_threshold,
    )
    return out


def _process(ws: Workspace, plan: ProcessPlan, lorapilot_python: Path) -> dict[str, Any]:
    proc: dict[str, Any] = {
        "description": plan.description,
        "entrypoint": launch_argv(ws, plan, lorapilot_python),
        "environment": [f"{k}={v}" for k, v in sorted(process_environment(ws, plan).items())],
        "log_location": str(plan.log_file),
        # Plain lines in the log file, as the app printed them (not JSON records).
        "log_configuration": {"disable_json": True, "no_metadata": True, "no_color": True, "flush_each_line": True},
        "availability": {
            "restart": plan.restart.policy,
            "backoff_seconds": plan.restart.backoff_s,
            "max_restarts": plan.restart.max_restarts,
        },
        "shutdown": {
            "signal": plan.shutdown.signal,
            "timeout_seconds": plan.shutdown.timeout_s,
            "parent_only": not plan.shutdown.kill_group,
        },
    }
    if plan.cwd is not None:
        proc["working_dir"] = str(plan.cwd)
    probe = _probe(plan)
    if probe is not None:
        proc["readiness_probe"] = probe
        if plan.probe is not None and not plan.oneshot and plan.restart.policy != "no":
            # The same check as liveness: a hung service is killed and restarted by its policy. It starts
            # once the readiness budget is spent, so a slow start (ComfyUI loading) is not taken for a hang.
            startup = plan.probe.initial_delay_s + plan.probe.period_s * plan.probe.failure_threshold
            proc["liveness_probe"] = {**probe, "initial_delay_seconds": startup}
    if plan.depends_on:
        proc["depends_on"] = {dep: {"condition": "process_healthy"} for dep in plan.depends_on}
    if not plan.autostart or not plan.installed:
        proc["disabled"] = True
    return proc


def render_process_compose(ws: Workspace, plans: list[ProcessPlan], lorapilot_python: Path) -> dict[str, Any]:
    """The process-compose project as a dict (validates against the reference schema)."""
    return {
        "version": "0.5",
        "name": PROJECT_NAME,
        "log_location": str(ws.logs / "process-compose.log"),
        "log_level": "info",
        "is_strict": True,
        # Our values are literal paths; never let process-compose expand `$`.
        "disable_env_expansion": True,
        "ordered_shutdown": True,
        "environment": [f"{k}={v}" for k, v in sorted(base_environment(ws).items())],
        "processes": {
            **{plan.name: _process(ws, plan, lorapilot_python) for plan in plans},
            WATCHDOG: _watchdog(ws, lorapilot_python),
        },
    }


def _watchdog(ws: Workspace, lorapilot_python: Path) -> dict[str, Any]:
    """Crash-loop recovery (process-compose stops restarting after max_restarts): see lorapilot.stack.watchdog."""
    return {
        "description": "LoRA Pilot watchdog: restarts services the manager gave up on, with backoff",
        "entrypoint": watchdog_argv(ws, lorapilot_python),
        "log_location": str(ws.logs / f"{WATCHDOG}.log"),
        "log_configuration": {"disable_json": True, "no_metadata": True, "no_color": True, "flush_each_line": True},
        "availability": {"restart": "always", "backoff_seconds": 2},
        "shutdown": {"signal": 15, "timeout_seconds": 5},
    }


def dump_yaml(config: dict[str, Any]) -> str:
    """YAML text with keys in insertion order."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True)

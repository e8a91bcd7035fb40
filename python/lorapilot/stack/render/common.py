"""What both renderers share: the launcher wrapping and the common environment."""

from __future__ import annotations

from pathlib import Path

from lorapilot.stack.plan import ProcessPlan
from lorapilot.stack.workspace.layout import Workspace

PROJECT_NAME = "lorapilot"


def base_environment(ws: Workspace) -> dict[str, str]:
    """Environment every process gets: where the workspace is, and shared caches."""
    return {
        "LORAPILOT_WORKSPACE": str(ws.root),
        "HF_HOME": str(ws.cache / "huggingface"),
        "PYTHONUNBUFFERED": "1",
    }


def process_environment(ws: Workspace, plan: ProcessPlan) -> dict[str, str]:
    env = base_environment(ws)
    env.update(plan.env)
    return env


def launch_argv(
    ws: Workspace,
    plan: ProcessPlan,
    lorapilot_python: Path,
    wait_urls: list[str] | None = None,
) -> list[str]:
    """The argv a process manager runs: ``lorapilot.stack.service_launch`` wrapping the component."""
    argv = [str(lorapilot_python), "-m", "lorapilot.stack.service_launch", "--name", plan.name]
    if plan.secret_env:
        argv += ["--secrets-file", str(ws.secrets_file)]
        for env_name, key in sorted(plan.secret_env.items()):
            argv += ["--secret", f"{env_name}={key}"]
    if plan.env_path is not None:
        argv += ["--path", str(plan.env_path / "bin")]
    for url in wait_urls or []:
        argv += ["--wait-http", url]
    return argv + ["--", *plan.argv]


def watchdog_argv(ws: Workspace, lorapilot_python: Path) -> list[str]:
    """The watchdog both managers run beside the services (liveness, crash-loop recovery)."""
    return [str(lorapilot_python), "-m", "lorapilot.stack.watchdog", "--workspace", str(ws.root)]


def dependency_urls(plan: ProcessPlan, plans: list[ProcessPlan]) -> list[str]:
    """Probe URLs of the components ``plan`` depends on (for managers without health gates)."""
    by_name = {p.name: p for p in plans}
    urls = [by_name[d].probe_url for d in plan.depends_on if d in by_name]
    return [url for url in urls if url]

"""Drive the running services through whichever process manager runs them."""

from __future__ import annotations

from lorapilot.kit.errors import ServiceError
from lorapilot.stack.services.base import ManagerInfo, ServiceManager, ServiceStatus
from lorapilot.stack.workspace.secrets import read_secrets

__all__ = ["ManagerInfo", "ServiceManager", "ServiceStatus", "get_manager", "manager_for"]


def manager_for(ctx, info: ManagerInfo, plans=None) -> ServiceManager:
    """A ServiceManager for the backend described by ``info``."""
    plans = plans if plans is not None else ctx.plan()
    secrets = read_secrets(ctx.workspace.secrets_file)
    if info.backend == "process-compose":
        from lorapilot.stack.services.process_compose import ProcessComposeManager

        return ProcessComposeManager(ctx.workspace, plans, info.port, secrets.get("PROCESS_COMPOSE_TOKEN"))
    from lorapilot.stack.services.supervisor import SupervisorManager

    return SupervisorManager(ctx.workspace, plans, info.port, secrets.get("SUPERVISOR_PASSWORD", ""))


def get_manager(ctx, plans=None) -> ServiceManager:
    """The manager of the running workspace; a clear error when nothing runs."""
    info = ManagerInfo.load(ctx.workspace)
    if info is None:
        raise ServiceError(
            f"LoRA Pilot is not running in {ctx.workspace.root}; start it with `lorapilot up --workspace {ctx.workspace.root}`"
        )
    return manager_for(ctx, info, plans)

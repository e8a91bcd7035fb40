"""The process-compose backend: a client for its REST API (swagger at v1.122).

Endpoints used: ``GET /live``, ``GET /processes``, ``POST /process/start/{name}``,
``PATCH /process/stop/{name}``, ``POST /process/restart/{name}``,
``GET /process/logs/{name}/{endOffset}/{limit}`` and ``POST /project/stop``;
every request carries the ``X-PC-Token-Key`` header.
"""

from __future__ import annotations

import httpx

from lorapilot.kit.errors import ServiceError
from lorapilot.stack.plan import LOOPBACK, ProcessPlan
from lorapilot.stack.services.base import RawState, ServiceManager, State
from lorapilot.stack.workspace.layout import Workspace

TOKEN_HEADER = "X-PC-Token-Key"

_STATES: dict[str, State] = {
    "Running": "running",
    "Launching": "starting",
    "Launched": "starting",
    "Pending": "starting",
    "Restarting": "starting",
    "Terminating": "stopping",
    "Completed": "exited",
    "Skipped": "stopped",
    "Disabled": "disabled",
    "Error": "failed",
    "Foreground": "running",
    "Scheduled": "stopped",
}


class ProcessComposeManager(ServiceManager):
    """ServiceManager over the process-compose REST API on loopback."""

    backend = "process-compose"

    def __init__(
        self,
        ws: Workspace,
        plans: list[ProcessPlan],
        port: int,
        token: str | None,
        timeout: float = 10,
        transport: httpx.BaseTransport | None = None,
    ):
        super().__init__(ws, plans)
        headers = {TOKEN_HEADER: token} if token else {}
        self.client = httpx.Client(
            base_url=f"http://{LOOPBACK}:{port}", headers=headers, timeout=timeout, transport=transport
        )

    def _request(self, method: str, path: str) -> dict:
        try:
            resp = self.client.request(method, path)
        except httpx.HTTPError as exc:
            raise ServiceError(
                f"cannot reach process-compose at {self.client.base_url}: {exc}; is LoRA Pilot running (`lorapilot up`)?"
            ) from None
        if resp.status_code == 401 or resp.status_code == 403:
            raise ServiceError("process-compose refused the API token (PROCESS_COMPOSE_TOKEN in config/secrets.env)")
        try:
            body = resp.json() if resp.content else {}
        except ValueError:
            body = {"error": resp.text}
        if resp.status_code >= 400:
            message = body.get("error") if isinstance(body, dict) else None
            raise ServiceError(f"process-compose: {method} {path} failed ({resp.status_code}): {message or resp.text}")
        return body

    def alive(self) -> bool:
        try:
            self._request("GET", "/live")
            return True
        except ServiceError:
            return False

    def raw_states(self) -> dict[str, RawState]:
        body = self._request("GET", "/processes")
        states = {}
        for item in body.get("data") or []:
            status = item.get("status", "")
            state: State = _STATES.get(status, "unknown")
            running = item.get("is_running", state == "running")
            if state == "running" and not running:
                state = "starting"
            ready_text = item.get("is_ready", "-")
            ready = None if ready_text in ("-", "", None) else ready_text == "Ready"
            age_ns = item.get("age") or 0
            pid = item.get("pid") or None
            states[item["name"]] = RawState(
                state=state,
                pid=pid if running else None,
                ready=ready if running else None,
                restarts=item.get("restarts", 0),
                # `age` is a Go time.Duration: nanoseconds.
                uptime_s=age_ns / 1e9 if running and age_ns else None,
                exit_code=item.get("exit_code") if state in ("exited", "failed") else None,
            )
        return states

    def _start(self, name: str) -> None:
        self._request("POST", f"/process/start/{name}")

    def _stop(self, name: str) -> None:
        self._request("PATCH", f"/process/stop/{name}")

    def _restart(self, name: str) -> None:
        self._request("POST", f"/process/restart/{name}")

    def logs(self, name: str, tail: int = 200) -> list[str]:
        self.plan(name)
        body = self._request("GET", f"/process/logs/{name}/0/{max(tail, 0)}")
        return list(body.get("logs") or [])

    def shutdown(self) -> None:
        self._request("POST", "/project/stop")

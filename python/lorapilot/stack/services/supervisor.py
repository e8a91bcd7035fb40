"""The supervisord backend, driven over its XML-RPC interface on loopback."""

from __future__ import annotations

import re
import time
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor

from lorapilot.kit.errors import ServiceError
from lorapilot.kit.logtail import tail_lines
from lorapilot.stack.plan import LOOPBACK, ProcessPlan
from lorapilot.stack.render.supervisord import RPC_USER
from lorapilot.stack.services.base import RawState, ServiceManager, State
from lorapilot.stack.services.probe import check_ready
from lorapilot.stack.workspace.layout import Workspace

_STATES: dict[str, State] = {
    "RUNNING": "running",
    "STARTING": "starting",
    "BACKOFF": "starting",
    "STOPPING": "stopping",
    "STOPPED": "stopped",
    "EXITED": "exited",
    "FATAL": "failed",
    "UNKNOWN": "unknown",
}
_STARTED = re.compile(r"supervisord started with pid")
_UNEXPECTED = re.compile(r"exited: (\S+) \((.*); not expected\)")
_GAVE_UP = re.compile(r"gave up: (\S+) entered FATAL state")
_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def _log_time(line: str) -> float:
    """The local time a supervisord log line starts with (0 when it has none)."""
    match = _LOG_TIME.match(line)
    return time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")) if match else 0.0


class _Transport(xmlrpc.client.Transport):
    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class SupervisorManager(ServiceManager):
    """ServiceManager over supervisord's XML-RPC API."""

    backend = "supervisord"

    def __init__(self, ws: Workspace, plans: list[ProcessPlan], port: int, password: str, timeout: float = 10):
        super().__init__(ws, plans)
        self.url = f"http://{RPC_USER}:{password}@{LOOPBACK}:{port}/RPC2"
        self.timeout = timeout

    def _rpc(self):
        return xmlrpc.client.ServerProxy(self.url, transport=_Transport(self.timeout), allow_none=True)

    def _call(self, method: str, *args):
        proxy = self._rpc()
        try:
            return getattr(proxy.supervisor, method)(*args)
        except xmlrpc.client.Fault as fault:
            text = fault.faultString
            if "ALREADY_STARTED" in text or "NOT_RUNNING" in text:
                return None
            if "BAD_NAME" in text:
                raise ServiceError(f"supervisord does not know {args[0] if args else ''!r}") from None
            raise ServiceError(f"supervisord refused {method}: {text}") from None
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            raise ServiceError(
                f"cannot reach supervisord on {LOOPBACK}: {exc}; is LoRA Pilot running (`lorapilot up`)?"
            ) from None

    def alive(self) -> bool:
        try:
            return self._call("getState")["statename"] == "RUNNING"
        except ServiceError:
            return False

    def _restart_counts(self) -> tuple[dict[str, int], dict[str, tuple[float, str]]]:
        """Automatic restarts since supervisord started, and the last one's reason, from its own log."""
        counts: dict[str, int] = {}
        reasons: dict[str, tuple[float, str]] = {}
        for line in tail_lines(self.ws.logs / "supervisord.log", 5000):
            if _STARTED.search(line):
                counts.clear()
                reasons.clear()
                continue
            match = _UNEXPECTED.search(line)
            if match:
                counts[match.group(1)] = counts.get(match.group(1), 0) + 1
                reasons[match.group(1)] = (
                    _log_time(line),
                    f"exited unexpectedly ({match.group(2)}); restarted by supervisord",
                )
            gave_up = _GAVE_UP.search(line)
            if gave_up:
                reasons[gave_up.group(1)] = (
                    _log_time(line),
                    "crashed repeatedly at start; supervisord gave up (the watchdog starts it again after a backoff)",
                )
        return counts, reasons

    def raw_states(self) -> dict[str, RawState]:
        infos = self._call("getAllProcessInfo")
        restarts, reasons = self._restart_counts()
        states: dict[str, RawState] = {}
        running = []
        for info in infos:
            name = info["name"]
            state: State = _STATES.get(info["statename"], "unknown")
            if state == "stopped" and info.get("start", 0) == 0 and name in self.plans:
                state = "disabled" if not self.plans[name].autostart else "stopped"
            pid = info["pid"] or None
            uptime = float(info["now"] - info["start"]) if pid and info.get("start") else None
            exit_code = info.get("exitstatus") if state in ("exited", "failed") else None
            at, reason = reasons.get(name, (None, None))
            states[name] = RawState(
                state=state,
                pid=pid,
                restarts=restarts.get(name, 0),
                uptime_s=uptime,
                exit_code=exit_code,
                restart_reason=reason,
                restarted_at=at,
            )
            if state == "running" and name in self.plans:
                running.append(name)
        with ThreadPoolExecutor(max_workers=4) as pool:
            for name, ready in zip(running, pool.map(lambda n: check_ready(self.plans[n]), running), strict=True):
                states[name].ready = ready
        return states

    def _start(self, name: str) -> None:
        self._call("startProcess", name, False)

    def _stop(self, name: str) -> None:
        self._call("stopProcess", name, True)

    def _restart(self, name: str) -> None:
        self._call("stopProcess", name, True)
        self._call("startProcess", name, False)

    def logs(self, name: str, tail: int = 200) -> list[str]:
        return tail_lines(self.plan(name).log_file, tail)

    def shutdown(self) -> None:
        self._call("shutdown")

    def pid(self) -> int | None:
        try:
            return int(self._call("getPID"))
        except ServiceError:
            return None

    def wait_alive(self, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.alive():
                return True
            time.sleep(0.2)
        return False

"""The watchdog: liveness and crash-loop recovery that the process managers lack.

``python -m lorapilot.stack.watchdog --workspace WS`` runs beside the services (rendered
into both managers' configurations) and, through :mod:`lorapilot.stack.services`:

* **liveness** (supervisord, which has no probes; process-compose runs the rendered
  ``liveness_probe`` itself): once a running service has answered its probe, a probe that
  then fails ``failure_threshold`` times in a row restarts it. A service still starting up
  (never ready since it started) is left alone: a slow start is not a hang.
* **crash loops** (both): a service the manager gave up on (supervisord's FATAL after
  ``startretries`` quick crashes, process-compose's Error after ``max_restarts``) is started
  again after a backoff that doubles each time (from 10 × its ``restart.backoff_s``, at most
  :data:`MAX_BACKOFF_S`) and resets once it has stayed up for :data:`STABLE_S`.

Each restart is written with its reason to ``logs/restarts.jsonl``; the dashboard shows it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.plan import ProcessPlan
from lorapilot.stack.services.base import ServiceManager
from lorapilot.stack.services.probe import check_ready
from lorapilot.stack.services.restartlog import record_restart

NAME = "lorapilot-watchdog"
MAX_BACKOFF_S = 300.0
STABLE_S = 60.0
TICK_S = 0.5


@dataclass
class _Liveness:
    pid: int | None = None
    armed: bool = False  # ready at least once since this pid started
    failures: int = 0
    next_probe: float = 0.0


@dataclass
class _CrashLoop:
    recoveries: int = 0
    due: float | None = None
    running_since: float | None = None


@dataclass
class Watchdog:
    """One pass per :meth:`tick`; :meth:`run` loops until told to stop."""

    manager: ServiceManager
    liveness: bool  # the backend has no liveness probes of its own
    clock: Callable[[], float] = time.monotonic
    _live: dict[str, _Liveness] = field(default_factory=dict)
    _loops: dict[str, _CrashLoop] = field(default_factory=dict)

    def watched(self) -> list[ProcessPlan]:
        return [p for p in self.manager.plans.values() if p.installed and not p.oneshot and p.restart.policy != "no"]

    def tick(self) -> None:
        states = self.manager.raw_states()
        now = self.clock()
        for plan in self.watched():
            raw = states.get(plan.name)
            if raw is None:
                continue
            self._crash_loop(plan, raw, now)
            if self.liveness and plan.probe is not None:
                self._liveness(plan, raw, now)

    # -- crash loops -------------------------------------------------------
    def _gave_up(self, raw) -> bool:
        """supervisord: FATAL. process-compose: Error, or Completed with a failing exit code once its
        max_restarts are spent (it restarts on_failure services itself until then)."""
        if raw.state == "failed":
            return True
        return self.manager.backend == "process-compose" and raw.state == "exited" and raw.exit_code not in (None, 0)

    def _crash_loop(self, plan: ProcessPlan, raw, now: float) -> None:
        loop = self._loops.setdefault(plan.name, _CrashLoop())
        if raw.state == "running":
            loop.due = None
            if loop.running_since is None:
                loop.running_since = now
            elif now - loop.running_since >= STABLE_S:
                loop.recoveries = 0  # it recovered: the next loop starts with a short wait again
            return
        loop.running_since = None
        if not self._gave_up(raw):
            loop.due = None
            return
        if loop.due is None:
            delay = min(MAX_BACKOFF_S, 10 * plan.restart.backoff_s * 2**loop.recoveries)
            loop.due = now + delay
            return
        if now < loop.due:
            return
        waited = min(MAX_BACKOFF_S, 10 * plan.restart.backoff_s * 2**loop.recoveries)
        loop.recoveries += 1
        loop.due = None
        exit_code = f" (last exit code {raw.exit_code})" if raw.exit_code is not None else ""
        record_restart(
            self.manager.ws,
            plan.name,
            f"crash loop: the process manager gave up after repeated crashes{exit_code}; "
            f"started again after {waited:.0f} s (recovery {loop.recoveries})",
        )
        self.manager.start(plan.name)

    # -- liveness ------------------------------------------------------------
    def _liveness(self, plan: ProcessPlan, raw, now: float) -> None:
        probe = plan.probe
        if probe is None:  # tick() calls this only for plans with a probe
            return
        live = self._live.setdefault(plan.name, _Liveness())
        if raw.state != "running" or raw.pid is None:
            self._live[plan.name] = _Liveness()
            return
        if raw.pid != live.pid:
            self._live[plan.name] = live = _Liveness(pid=raw.pid, next_probe=now + probe.initial_delay_s)
        if now < live.next_probe:
            return
        live.next_probe = now + probe.period_s
        if check_ready(plan, timeout=probe.timeout_s):
            live.armed, live.failures = True, 0
            return
        if not live.armed:
            return  # still starting up
        live.failures += 1
        if live.failures >= probe.failure_threshold:
            what = plan.probe_url or " ".join(plan.probe_exec or [])
            record_restart(
                self.manager.ws,
                plan.name,
                f"liveness: {what} failed {live.failures} times in a row ({probe.period_s} s apart); restarted",
            )
            self._live[plan.name] = _Liveness()
            self.manager.restart(plan.name)

    def run(self, stop) -> None:
        while not stop():
            try:
                self.tick()
            except LorapilotError as exc:  # the manager is starting or stopping: try again
                print(f"{NAME}: {exc}", file=sys.stderr, flush=True)
            time.sleep(TICK_S)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lorapilot.stack.watchdog")
    parser.add_argument("--workspace", required=True)
    args = parser.parse_args(argv)

    from lorapilot.stack.context import load_context
    from lorapilot.stack.services import get_manager

    ctx = load_context(args.workspace)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    manager = None
    while manager is None and not stopping:
        try:
            manager = get_manager(ctx)
        except LorapilotError:
            time.sleep(1)
    if manager is None:
        return
    print(
        f"{NAME}: watching {', '.join(p.name for p in Watchdog(manager, False).watched())} under {manager.backend}",
        flush=True,
    )
    Watchdog(manager, liveness=manager.backend == "supervisord").run(lambda: bool(stopping))


if __name__ == "__main__":
    main()

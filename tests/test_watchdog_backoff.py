"""The watchdog's crash-loop backoff over a manager whose states the test sets (the real-supervisord
behaviour is tests/test_watchdog_supervisord_e2e.py): doubling waits, a cap, a reset after a stable run,
and process-compose's "Completed with a failing exit code" counted as given up."""

from __future__ import annotations

from lorapilot.stack.services.base import RawState, ServiceManager
from lorapilot.stack.services.restartlog import last_restarts
from lorapilot.stack.watchdog import MAX_BACKOFF_S, STABLE_S, Watchdog


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


class ScriptedManager(ServiceManager):
    """A manager whose raw states the test sets; start/restart calls are recorded."""

    def __init__(self, ws, plans, backend="supervisord"):
        super().__init__(ws, plans)
        self.backend = backend
        self.states: dict[str, RawState] = {}
        self.started: list[str] = []

    def raw_states(self):
        return self.states

    def _start(self, name):
        self.started.append(name)

    def _stop(self, name):
        pass

    def _restart(self, name):
        self.started.append(name)

    def logs(self, name, tail=200):
        return []

    def shutdown(self):
        pass

    def alive(self):
        return True


def _setup(ctx, backend="supervisord"):
    plan = next(p for p in ctx.plan(False) if p.name == "controlpilot")
    manager = ScriptedManager(ctx.workspace, [plan], backend)
    clock = Clock()
    return manager, Watchdog(manager, liveness=False, clock=clock), clock, plan


def _until_started(manager, dog, clock, step=1.0, limit=1000) -> float:
    start, count = clock.now, len(manager.started)
    while len(manager.started) == count:
        dog.tick()
        clock.now += step
        assert clock.now - start < limit
    return clock.now - start


def test_fatal_is_restarted_with_doubling_waits_then_reset_after_a_stable_run(ctx):
    manager, dog, clock, plan = _setup(ctx)
    manager.states["controlpilot"] = RawState(state="failed", exit_code=3)
    base = 10 * plan.restart.backoff_s
    waits = [_until_started(manager, dog, clock) for _ in range(4)]
    assert [round(w) for w in waits] == [base + 1, 2 * base + 1, 4 * base + 1, 8 * base + 1]
    reason = last_restarts(ctx.workspace)["controlpilot"][1]
    assert "crash loop" in reason and "exit code 3" in reason and "recovery 4" in reason
    for _ in range(10):
        _until_started(manager, dog, clock)
    assert _until_started(manager, dog, clock) <= MAX_BACKOFF_S + 1

    manager.states["controlpilot"] = RawState(state="running", pid=42)
    for _ in range(int(STABLE_S) + 2):
        dog.tick()
        clock.now += 1
    manager.states["controlpilot"] = RawState(state="failed", exit_code=3)
    assert round(_until_started(manager, dog, clock)) == base + 1  # short again after it recovered


def test_a_service_stopped_by_the_user_is_left_alone(ctx):
    manager, dog, clock, _ = _setup(ctx)
    manager.states["controlpilot"] = RawState(state="stopped")
    for _ in range(400):
        dog.tick()
        clock.now += 1
    assert manager.started == []


def test_process_compose_completed_with_a_failing_code_counts_as_given_up(ctx):
    manager, dog, clock, _ = _setup(ctx, backend="process-compose")
    manager.states["controlpilot"] = RawState(state="exited", exit_code=0)
    for _ in range(100):
        dog.tick()
        clock.now += 1
    assert manager.started == []
    manager.states["controlpilot"] = RawState(state="exited", exit_code=1)
    _until_started(manager, dog, clock)
    assert manager.started == ["controlpilot"]

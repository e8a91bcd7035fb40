"""Stop the (rented) machine: at a time, after N minutes idle, or once the queue has run empty.

The schedule lives in ``apps/trainpilot/shutdown.json``, so the CLI, the API and the queue worker
(which acts on it every tick) share it. The command that stops the machine is ``[trainpilot]
stop_command`` from the config file only (never from the API: it runs as this user), e.g.
``["runpodctl", "stop", "pod", "$RUNPOD_POD_ID"]``, ``["vastai", "stop", "instance", "$CONTAINER_ID"]``
or ``["sudo", "shutdown", "-h", "now"]``.

Nothing fires while a training job runs or waits: a time that comes during a job fires once the
queue is empty; "after-queue" waits for exactly that. Idle means: no job running or queued, no TCP
connection to any service but ControlPilot (whose dashboard polls), GPU utilisation under
``idle_gpu_pct``. A webhook (the job webhooks' URL and format) warns ``stop_warning_s`` ahead.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from lorapilot.kit.errors import ConfigError, LorapilotError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.stack.context import Context

log = logging.getLogger("lorapilot.tools.trainpilot")
Mode = Literal["at", "idle", "after-queue"]
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


class StopPlan(BaseModel):
    mode: Mode
    at: float | None = None  # epoch seconds ("at")
    idle_s: float | None = None  # ("idle")
    created: float
    idle_since: float | None = None  # epoch seconds the machine has been idle since (worker-maintained)
    warned: bool = False


def parse_duration(text: str) -> float:
    """``30m``, ``2h``, ``1h30m``, ``90s`` or a bare number of minutes -> seconds."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text) * 60
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        raise LorapilotError(f"duration {text!r}: use e.g. 30m, 2h, 1h30m or 90s")
    h, m, s = (float(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


def parse_at(text: str, now: datetime) -> float:
    """``23:00`` (today, or tomorrow once passed) or an ISO date-time -> epoch seconds."""
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
            hour, minute = map(int, text.strip().split(":"))
            when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return (when if when > now else when + timedelta(days=1)).timestamp()
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise LorapilotError(f"time {text!r}: use HH:MM (24 h, local time) or an ISO date-time") from None


def plan_file(ctx: Context):
    return ctx.workspace.state_dir("trainpilot") / "shutdown.json"


def read_plan(ctx: Context) -> StopPlan | None:
    try:
        return StopPlan.model_validate_json(plan_file(ctx).read_text())
    except (OSError, ValueError):
        return None


def _write(ctx: Context, plan: StopPlan) -> None:
    path = plan_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, plan.model_dump_json())


def schedule(ctx: Context, mode: Mode, value: str | None = None, now: float | None = None) -> StopPlan:
    """Arm a stop: ``at`` (``value`` HH:MM/ISO, or ``in`` a duration via :func:`schedule_in`), ``idle``
    (``value`` a duration) or ``after-queue``. Replaces any earlier schedule."""
    if not ctx.settings.trainpilot.stop_command:
        raise ConfigError(
            ctx.registry.settings_path,
            "trainpilot.stop_command is empty: set the command that stops this machine first "
            '(e.g. stop_command = ["runpodctl", "stop", "pod", "$RUNPOD_POD_ID"])',
        )
    now = time.time() if now is None else now
    if mode == "at":
        plan = StopPlan(mode="at", at=parse_at(value or "", datetime.fromtimestamp(now)), created=now)
    elif mode == "idle":
        plan = StopPlan(mode="idle", idle_s=parse_duration(value or ""), created=now)
    elif mode == "after-queue":
        plan = StopPlan(mode="after-queue", created=now)
    else:
        raise LorapilotError(f"shutdown mode {mode!r}: use at, idle or after-queue")
    _write(ctx, plan)
    return plan


def schedule_in(ctx: Context, duration: str, now: float | None = None) -> StopPlan:
    """Arm a stop ``duration`` from now (``30m``, ``2h``...)."""
    now = time.time() if now is None else now
    when = datetime.fromtimestamp(now + parse_duration(duration)).isoformat()
    return schedule(ctx, "at", when, now=now)


def cancel(ctx: Context) -> bool:
    """Disarm; True when something was scheduled."""
    existed = plan_file(ctx).exists()
    plan_file(ctx).unlink(missing_ok=True)
    return existed


def due_at(plan: StopPlan) -> float | None:
    """When the stop fires, were nothing to hold it (None: after the queue, or not idle yet)."""
    if plan.mode == "at":
        return plan.at
    if plan.mode == "idle" and plan.idle_since is not None:
        return plan.idle_since + (plan.idle_s or 0)
    return None


def status(ctx: Context, busy: bool | None = None, now: float | None = None) -> dict:
    """The schedule, when it fires and what holds it, for the CLI and the API."""
    now = time.time() if now is None else now
    plan = read_plan(ctx)
    if plan is None:
        return {"scheduled": False, "stop_command_set": bool(ctx.settings.trainpilot.stop_command)}
    due = due_at(plan)
    held = None
    if busy:
        held = "a training job is running or queued: the stop waits for the queue to empty"
    elif plan.mode == "idle" and plan.idle_since is None:
        held = "not idle (jobs, connections to a service or GPU use)"
    return {
        "scheduled": True,
        "mode": plan.mode,
        "at": plan.at,
        "idle_s": plan.idle_s,
        "idle_since": plan.idle_since,
        "due_at": due,
        "seconds_left": None if due is None else max(0.0, due - now),
        "held_by": held,
        "stop_command_set": bool(ctx.settings.trainpilot.stop_command),
    }


class AutoStop:
    """Acts on the schedule; the queue worker calls :meth:`tick` with whether jobs run or wait.

    ``activity`` tells whether anything but jobs is active (connections, GPU use); ``run`` runs the
    stop command and ``notify`` sends the warning (both default to the real ones).
    """

    def __init__(
        self,
        ctx: Context,
        activity: Callable[[], str | None] | None = None,
        run: Callable[[list[str]], object] | None = None,
        notify: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.ctx = ctx
        self.settings = ctx.settings.trainpilot
        self.activity = activity or (lambda: machine_activity(ctx))
        self.run = run or self._run_command
        self.notify = notify or self._notify
        self.clock = clock

    def tick(self, busy: bool) -> bool:
        """Fire when due; returns True when the stop command was run."""
        plan = read_plan(self.ctx)
        if plan is None:
            return False
        now = self.clock()
        if plan.mode == "idle":
            active = busy or self.activity() is not None
            since = None if active else (plan.idle_since or now)
            if since != plan.idle_since:
                plan.idle_since, plan.warned = since, False
                _write(self.ctx, plan)
        if busy:
            return False  # never stop the machine under a running or waiting job
        due = now if plan.mode == "after-queue" else due_at(plan)
        if due is None:
            return False
        if not plan.warned and due - now <= self.settings.stop_warning_s and plan.mode != "after-queue":
            plan.warned = True
            _write(self.ctx, plan)
            self.notify(
                f"LoRA Pilot: this machine stops in {max(0, round((due - now) / 60))} min "
                f"({plan.mode}); cancel with `lorapilot shutdown cancel` or on the dashboard"
            )
        if now < due:
            return False
        cancel(self.ctx)  # first: a stop command that fails is not retried every tick
        self.notify(f"LoRA Pilot: stopping this machine now ({plan.mode})")
        self.run(list(self.settings.stop_command))
        return True

    def _run_command(self, argv: list[str]):
        from .notify import run_stop_command

        return run_stop_command(argv, self.ctx.workspace.logs / "trainpilot.log")

    def _notify(self, text: str):
        from lorapilot.stack.workspace.secrets import read_secrets

        from .notify import notify_text_async, webhook_url

        url = webhook_url(self.settings, read_secrets(self.ctx.workspace.secrets_file))
        if url:
            notify_text_async(url, self.settings.webhook_format, text, "Machine stop")
        log.warning("%s", text)


def machine_activity(ctx: Context) -> str | None:
    """What keeps the machine from being idle besides jobs (a connection, GPU use), or None."""
    import psutil

    from lorapilot.kit.nvml import gpu_utilization

    ports = {c.port: c.name for c in ctx.registry.enabled() if c.name != "controlpilot"}
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_ESTABLISHED and conn.laddr and conn.laddr.port in ports:
                return f"a connection to {ports[conn.laddr.port]}"
    except (psutil.Error, OSError):
        pass
    util = gpu_utilization()
    if util is not None and util >= ctx.settings.trainpilot.idle_gpu_pct:
        return f"GPU utilisation {util:.0f}%"
    return None


def describe(state: dict) -> str:
    """One line for the CLI."""
    if not state["scheduled"]:
        return "no machine stop scheduled" + (
            "" if state["stop_command_set"] else " (and [trainpilot] stop_command is not set)"
        )
    left = state["seconds_left"]
    when = (
        f"in {int(left // 60)} min {int(left % 60)} s"
        if left is not None
        else "when the queue is empty"
        if state["mode"] == "after-queue"
        else "after the machine has been idle"
    )
    text = f"machine stop ({state['mode']}) {when}"
    return text + (f"; held: {state['held_by']}" if state.get("held_by") else "")

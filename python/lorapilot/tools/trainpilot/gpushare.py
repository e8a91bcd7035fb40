"""Share a GPU between training and the inference apps: free VRAM before a job starts.

Before a queued job starts on a GPU the worker asks :class:`GpuArbiter`. When the GPU lacks the free
memory the job's VRAM tier needs, the arbiter first asks the inference apps to drop their models
through their own APIs (ComfyUI ``POST /free``, InvokeAI ``POST /api/v2/models/empty_model_cache``),
gives NVML ``free_timeout_s`` to show the memory, and then follows the policy (the profile's
``training.busy_gpu``, else ``[trainpilot] busy_gpu``):

- ``wait``: the job stays first in line (asking again every minute) until the memory is free;
- ``stop-apps``: the LoRA Pilot services holding the GPU are stopped, and started again once the job
  has ended (recorded in ``apps/trainpilot/stopped-apps.json`` so a restarted worker still does it);
- ``refuse``: the job fails with a message naming who holds how much.

What the queue waits for is written to ``apps/trainpilot/gpu-wait.json`` for the API and dashboard.
Every step is non-blocking: the worker keeps following running jobs while a GPU is being freed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.nvml import GpuMemory, gpu_memory, owner_of
from lorapilot.stack.context import Context

log = logging.getLogger("lorapilot.tools.trainpilot")
GiB = 1024**3
# The share of a tier's memory that must be free: a "24 GB" card shows about 23.6 GiB free when idle,
# and the presets for a tier leave headroom of their own.
NEED_FRACTION = 0.9
ASK_AGAIN_S = 60.0
# The inference apps and the request each answers by dropping its models (their real routes).
FREE_REQUESTS: dict[str, tuple[str, dict | None]] = {
    "comfyui": ("/free", {"unload_models": True, "free_memory": True}),
    "invokeai": ("/api/v2/models/empty_model_cache", None),
}
Policy = Literal["wait", "stop-apps", "refuse"]


@dataclass
class Decision:
    action: Literal["go", "wait", "refuse"]
    message: str = ""


def need_bytes(tier_gb: int, total_bytes: int) -> int:
    """Free memory a job of VRAM tier ``tier_gb`` needs on a card of ``total_bytes``."""
    return int(min(tier_gb * GiB, total_bytes) * NEED_FRACTION)


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / GiB:.1f} GiB"


class GpuArbiter:
    """Decides whether a job may start on its GPUs now, freeing memory on the way.

    ``nvml`` stands in for pynvml, ``services`` for the process manager (``status()``, ``stop()``,
    ``start()``), ``app_urls`` for the apps' addresses (tests); the defaults are the real ones.
    """

    def __init__(
        self,
        ctx: Context,
        nvml=None,
        services=None,
        app_urls: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ctx = ctx
        self.settings = ctx.settings.trainpilot
        self.nvml = nvml
        self._services = services
        self.app_urls = app_urls
        self.clock = clock
        self._asked: dict[int, float] = {}  # job id -> when the apps were last asked to free memory
        self._stopped_at: dict[int, float] = {}
        state = ctx.workspace.state_dir("trainpilot")
        self.wait_file = state / "gpu-wait.json"
        self.stopped_file = state / "stopped-apps.json"

    # --- the process manager and the apps -------------------------------------------------------
    def services(self):
        if self._services is not None:
            return self._services
        from lorapilot.kit.errors import ServiceError
        from lorapilot.stack.services import get_manager

        try:
            return get_manager(self.ctx)
        except ServiceError:
            return None

    def running_services(self) -> dict[int, str]:
        """pid -> name of every running LoRA Pilot service (empty when no manager answers)."""
        manager = self.services()
        if manager is None:
            return {}
        try:
            return {s.pid: s.name for s in manager.status() if s.state == "running" and s.pid}
        except Exception as exc:  # noqa: BLE001 - a manager that stopped answering
            log.warning("gpu sharing: cannot read the services: %s", exc)
            return {}

    def app_url(self, name: str) -> str | None:
        if self.app_urls is not None:
            return self.app_urls.get(name)
        if name not in self.ctx.registry:
            return None
        return f"http://127.0.0.1:{self.ctx.registry.get(name).port}"

    def ask_to_free(self, names: list[str]) -> list[str]:
        """Ask each inference app in ``names`` to drop its models; returns one line per app."""
        said = []
        for name in names:
            url = self.app_url(name)
            if name not in FREE_REQUESTS or url is None:
                continue
            path, body = FREE_REQUESTS[name]
            try:
                response = httpx.post(url + path, json=body, timeout=10)
                said.append(f"{name}: {response.status_code}")
            except httpx.HTTPError as exc:
                said.append(f"{name}: {exc.__class__.__name__}")
        log.info("gpu sharing: asked to free memory: %s", ", ".join(said) or "no inference app")
        return said

    # --- who holds what -------------------------------------------------------------------------
    def holders(self, memory: GpuMemory, services: dict[int, str]) -> list[tuple[str, int | None]]:
        """(who, bytes) per holder of ``memory``'s GPU, services by name, largest first."""
        totals: dict[str, int | None] = {}
        for pid, used in memory.processes:
            who = owner_of(pid, services) or f"pid {pid}"
            totals[who] = (totals.get(who) or 0) + used if used is not None else totals.get(who)
        return sorted(totals.items(), key=lambda kv: -(kv[1] or 0))

    def describe(self, memory: GpuMemory, need: int, tier: int, holders) -> str:
        held = ", ".join(f"{who} {_gib(used)}" for who, used in holders) or "no process NVML can see"
        return (
            f"GPU {memory.index} has {_gib(memory.free_bytes)} free of {_gib(memory.total_bytes)}; "
            f"the {tier} GB tier needs {_gib(need)}; held by {held}"
        )

    # --- the decision ---------------------------------------------------------------------------
    def prepare(self, job_id: int, profile, gpu_ids: list[str]) -> Decision:
        """May job ``job_id`` (``profile``) start on ``gpu_ids`` now? Frees memory on the way."""
        indexes = [int(g) for g in gpu_ids if str(g).isdigit()]
        memories = [m for m in (gpu_memory(i, self.nvml) for i in indexes) if m is not None]
        short = [m for m in memories if m.free_bytes < need_bytes(profile.vram_gb, m.total_bytes)]
        if not short:  # enough memory, or no GPU NVML can measure ("cpu", no driver)
            self._forget(job_id)
            return Decision("go")
        policy: Policy = profile.training.busy_gpu or self.settings.busy_gpu
        now = self.clock()
        services = self.running_services()
        holders = {m.index: self.holders(m, services) for m in short}
        held_by = {who for hs in holders.values() for who, _ in hs}
        message = "; ".join(
            self.describe(m, need_bytes(profile.vram_gb, m.total_bytes), profile.vram_gb, holders[m.index])
            for m in short
        )
        # Inference apps on these GPUs or running at all (NVML in a container often hides their pids);
        # with no process manager answering, every app that may be listening.
        apps = [name for name in FREE_REQUESTS if name in held_by or name in services.values() or not services]
        asked = self._asked.get(job_id)
        if asked is None or (policy == "wait" and now - asked >= ASK_AGAIN_S):
            said = self.ask_to_free(apps)
            self._asked[job_id] = now
            return self._wait(
                job_id, gpu_ids, f"asked {', '.join(said) or 'no inference app'} to free memory; {message}"
            )
        if now - asked < self.settings.free_timeout_s:
            return self._wait(job_id, gpu_ids, f"waiting for freed memory; {message}")
        if policy == "refuse":
            self._forget(job_id)
            return Decision(
                "refuse", f"not started: too little free GPU memory after asking the apps to free theirs: {message}"
            )
        if policy == "stop-apps":
            to_stop = sorted(
                {name for m in short for name in self._enough_to_stop(m, profile.vram_gb, holders[m.index], services)}
            )
            if to_stop and job_id not in self._stopped_at:
                self._stop(job_id, to_stop)
                return self._wait(
                    job_id, gpu_ids, f"stopped {', '.join(to_stop)} (started again after the job); {message}"
                )
        return self._wait(job_id, gpu_ids, f"waiting for GPU memory; {message}")

    @staticmethod
    def _enough_to_stop(memory: GpuMemory, tier: int, holders, services: dict[int, str]) -> list[str]:
        """The largest service holders whose memory covers what ``memory`` lacks (never ControlPilot)."""
        lacking = need_bytes(tier, memory.total_bytes) - memory.free_bytes
        chosen = []
        for who, used in holders:  # largest first
            if lacking <= 0:
                break
            if who in services.values() and who != "controlpilot":
                chosen.append(who)
                lacking -= used or 0
        return chosen

    def _wait(self, job_id: int, gpu_ids: list[str], message: str) -> Decision:
        atomic_write_text(
            self.wait_file, json.dumps({"job": job_id, "gpus": list(gpu_ids), "message": message, "since": time.time()})
        )
        return Decision("wait", message)

    def _forget(self, job_id: int) -> None:
        self._asked.pop(job_id, None)
        self._stopped_at.pop(job_id, None)
        self.wait_file.unlink(missing_ok=True)

    # --- stopping and restarting apps -----------------------------------------------------------
    def stopped_apps(self) -> dict[str, list[str]]:
        """job id -> the services stopped for it (not yet started again)."""
        try:
            return json.loads(self.stopped_file.read_text())
        except (OSError, ValueError):
            return {}

    def _stop(self, job_id: int, names: list[str]) -> None:
        record = self.stopped_apps()
        record[str(job_id)] = sorted(set(record.get(str(job_id), [])) | set(names))
        atomic_write_text(self.stopped_file, json.dumps(record))  # first: a crash after stopping still restarts them
        manager = self.services()
        for name in names:
            try:
                manager.stop(name)
            except Exception as exc:  # noqa: BLE001 - reported; the job waits for memory anyway
                log.warning("gpu sharing: could not stop %s: %s", name, exc)
        self._stopped_at[job_id] = self.clock()

    def restore(self, active_job_ids: set[int]) -> list[str]:
        """Start again the services stopped for jobs no longer queued or running; returns their names."""
        record = self.stopped_apps()
        ended = [key for key in record if int(key) not in active_job_ids]
        if not ended:
            return []
        still_needed = {name for key, names in record.items() if key not in ended for name in names}
        names = sorted({name for key in ended for name in record[key]} - still_needed)
        manager = self.services()
        for name in names:
            try:
                manager.start(name)
            except Exception as exc:  # noqa: BLE001 - logged; the user can start it from the dashboard
                log.warning("gpu sharing: could not start %s again: %s", name, exc)
        for key in ended:
            record.pop(key)
            self._stopped_at.pop(int(key), None)
        atomic_write_text(self.stopped_file, json.dumps(record))
        return names

    def clear_wait(self) -> None:
        self.wait_file.unlink(missing_ok=True)


def waiting_for(ctx: Context) -> dict | None:
    """What the queue waits for now (job, gpus, message, since), or None."""
    try:
        return json.loads((ctx.workspace.state_dir("trainpilot") / "gpu-wait.json").read_text())
    except (OSError, ValueError):
        return None

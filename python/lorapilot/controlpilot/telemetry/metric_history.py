"""A ring buffer of telemetry samples: up to 24 h, fixed memory.

Each sample is one compact tuple; the deque's ``maxlen`` is the number of
samples that fit in the retention window at the sampling interval, so memory
is bounded however long the server runs.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from lorapilot.controlpilot.telemetry.snapshot import SystemSnapshot

MAX_RETENTION_S = 24 * 3600

# (time, cpu %, ram used, ram total, ((gpu util %, vram used, vram total), ...))
Sample = tuple[float, float, int, int, tuple[tuple[float | None, int | None, int | None], ...]]


def compact(snap: SystemSnapshot) -> Sample:
    """The part of a snapshot the graphs need."""
    host = snap.host
    limit = host.cgroup.memory_limit_bytes
    total = min(host.memory_total_bytes, limit) if limit else host.memory_total_bytes
    used = (
        host.cgroup.memory_used_bytes if limit and host.cgroup.memory_used_bytes is not None else host.memory_used_bytes
    )
    gpus = tuple((g.utilization_pct, g.memory_used_bytes, g.memory_total_bytes) for g in snap.gpus)
    return (snap.time, host.cpu_percent, used, total, gpus)


class MetricHistory:
    """The last ``retention_s`` seconds of samples taken every ``interval_s``."""

    def __init__(self, interval_s: float, retention_s: float = MAX_RETENTION_S):
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self.retention_s = min(retention_s, MAX_RETENTION_S)
        self.capacity = math.ceil(self.retention_s / interval_s) + 1
        self._samples: deque[Sample] = deque(maxlen=self.capacity)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, sample: Sample) -> None:
        with self._lock:
            self._samples.append(sample)

    def window(self, minutes: float, max_points: int = 360) -> dict:
        """Samples of the last ``minutes`` (at most 24 h), averaged into at most ``max_points``.

        Columns, not rows: ``{"t": [...], "cpu": [...], "ram_used": [...], "ram_total": [...],
        "gpus": [{"util": [...], "vram_used": [...], "vram_total": [...]}, ...]}``.
        """
        minutes = max(0.0, min(minutes, self.retention_s / 60))
        with self._lock:
            samples = list(self._samples)
        if samples:
            cutoff = samples[-1][0] - minutes * 60
            samples = [s for s in samples if s[0] >= cutoff]
        buckets = _buckets(samples, max(1, max_points))
        gpu_count = max((len(s[4]) for s in samples), default=0)
        out = {
            "interval_s": self.interval_s,
            "t": [_mean([s[0] for s in b]) for b in buckets],
            "cpu": [_mean([s[1] for s in b]) for b in buckets],
            "ram_used": [_mean([s[2] for s in b]) for b in buckets],
            "ram_total": [max(s[3] for s in b) for b in buckets],
            "gpus": [],
        }
        for i in range(gpu_count):

            def col(j: int, b: list[Sample], reduce=_mean):
                return reduce([s[4][i][j] for s in b if len(s[4]) > i and s[4][i][j] is not None])

            out["gpus"].append(
                {
                    "util": [col(0, b) for b in buckets],
                    "vram_used": [col(1, b) for b in buckets],
                    "vram_total": [col(2, b, _max) for b in buckets],
                }
            )
        return out


def _buckets(samples: list[Sample], max_points: int) -> list[list[Sample]]:
    if len(samples) <= max_points:
        return [[s] for s in samples]
    size = len(samples) / max_points
    return [samples[int(i * size) : int((i + 1) * size)] for i in range(max_points)]


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def _max(values: list):
    return max(values) if values else None

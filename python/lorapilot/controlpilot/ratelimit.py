"""Rate limit for failed logins: per client address and for the whole server."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

_MAX_CLIENTS = 10_000


class LoginLimiter:
    """Counts failed logins in a sliding window.

    A client with ``per_client`` failures in ``window_s`` seconds must wait
    until the oldest one leaves the window; ``overall`` failures from all
    clients together lock logins for everyone (a guess spread over many
    addresses, or many users behind one proxy address).
    """

    def __init__(
        self,
        per_client: int = 5,
        overall: int = 50,
        window_s: float = 300,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.per_client = per_client
        self.overall = overall
        self.window_s = window_s
        self._clock = clock
        self._clients: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _prune(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window_s:
            times.popleft()

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must wait before another attempt; 0 when allowed."""
        now = self._clock()
        with self._lock:
            waits = [0.0]
            self._prune(self._all, now)
            if len(self._all) >= self.overall:
                waits.append(self._all[len(self._all) - self.overall] + self.window_s - now)
            times = self._clients.get(client)
            if times is not None:
                self._prune(times, now)
                if len(times) >= self.per_client:
                    waits.append(times[len(times) - self.per_client] + self.window_s - now)
            return max(waits)

    def failed(self, client: str) -> None:
        """Record one failed attempt."""
        now = self._clock()
        with self._lock:
            if client not in self._clients and len(self._clients) >= _MAX_CLIENTS:
                self._forget_idle(now)
            self._clients.setdefault(client, deque()).append(now)
            self._all.append(now)

    def succeeded(self, client: str) -> None:
        """A correct password clears the client's own failures."""
        with self._lock:
            self._clients.pop(client, None)

    def _forget_idle(self, now: float) -> None:
        for key in list(self._clients):
            self._prune(self._clients[key], now)
            if not self._clients[key]:
                del self._clients[key]
        while len(self._clients) >= _MAX_CLIENTS:  # still full: drop the oldest entries
            del self._clients[next(iter(self._clients))]

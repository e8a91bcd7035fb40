"""Throttling of failed logins: per client, and for the account, without locking the real user out.

The rules:

* A client (an address; an IPv6 client by its /64) that failed ``per_client`` times waits, and each
  further failure doubles the wait (``base_delay_s`` up to ``max_delay_s``). A correct password
  from it clears its record; failures older than ``window_s`` are forgotten.
* The account: when ``account_threshold`` failures from all clients together fall in the window
  (a guess spread over many addresses), every *failing* client is slowed from its first failure.
* A client that has not failed is never refused: it may always try, and the right password logs it
  in, however many other addresses guess. (The old limit locked everyone out for 5 minutes after
  50 failures: 12 addresses × 5 guesses kept the real user out.)
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_MAX_CLIENTS = 10_000


def client_key(address: str) -> str:
    """The throttling key of an address: IPv6 by its /64 (one host owns a whole /64), else as is."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class _Client:
    failures: int = 0
    last_failure: float = 0.0
    blocked_until: float = 0.0


class LoginLimiter:
    """Failed-login bookkeeping (thread-safe); see the module docstring for the rules."""

    def __init__(
        self,
        per_client: int = 5,
        account_threshold: int = 50,
        window_s: float = 300,
        base_delay_s: float = 2,
        max_delay_s: float = 900,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.per_client = per_client
        self.account_threshold = account_threshold
        self.window_s = window_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._clients: dict[str, _Client] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _state(self, key: str, now: float) -> _Client | None:
        state = self._clients.get(key)
        if state is not None and now - state.last_failure > self.window_s and now >= state.blocked_until:
            del self._clients[key]  # forgiven: nothing in the window and no wait left
            return None
        return state

    def under_attack(self) -> bool:
        """Whether failures from all clients together reached the account threshold in the window."""
        now = self._clock()
        with self._lock:
            self._prune_all(now)
            return len(self._all) >= self.account_threshold

    def _prune_all(self, now: float) -> None:
        while self._all and self._all[0] <= now - self.window_s:
            self._all.popleft()

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must wait before another attempt; always 0 for a client without failures."""
        now = self._clock()
        with self._lock:
            state = self._state(client_key(client), now)
            return 0.0 if state is None else max(0.0, state.blocked_until - now)

    def failed(self, client: str) -> float:
        """Record one failed attempt; returns the wait it imposes on ``client``."""
        now = self._clock()
        key = client_key(client)
        with self._lock:
            self._prune_all(now)
            self._all.append(now)
            state = self._state(key, now)
            if state is None:
                if len(self._clients) >= _MAX_CLIENTS:
                    self._forget_idle(now)
                state = self._clients[key] = _Client()
            state.failures += 1
            state.last_failure = now
            over = state.failures - self.per_client
            if len(self._all) >= self.account_threshold:
                over = max(over, state.failures - 1)  # the account is guessed at: slow every failing client
            if over >= 0:
                delay = min(self.max_delay_s, self.base_delay_s * 2 ** min(over, 30))
                state.blocked_until = max(state.blocked_until, now + delay)
            return max(0.0, state.blocked_until - now)

    def succeeded(self, client: str) -> None:
        """A correct password clears the client's own record."""
        with self._lock:
            self._clients.pop(client_key(client), None)

    def _forget_idle(self, now: float) -> None:
        for key in list(self._clients):
            self._state(key, now)
        while len(self._clients) >= _MAX_CLIENTS:  # still full: drop the oldest entries
            del self._clients[next(iter(self._clients))]

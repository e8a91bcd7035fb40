"""The live event stream behind ``GET /api/events``.

Any thread may :meth:`EventHub.publish` an event (service changes, telemetry
samples, task progress, or a tool's own events); each connected browser has a
bounded asyncio queue fed from the publishing thread. A slow client loses its
oldest events, never the server's memory.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

_QUEUE_SIZE = 256
KEEPALIVE_S = 15.0


def sse(event: str, data: Any, event_id: str | None = None) -> str:
    """One Server-Sent Event, ready to write to the response."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), default=str)
    lines += [f"data: {line}" for line in text.split("\n")]
    return "\n".join(lines) + "\n\n"


@dataclass(eq=False)
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(_QUEUE_SIZE))

    def offer(self, item: tuple[str, Any]) -> None:
        """Runs on the subscriber's loop: drop the oldest event when full."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(item)


class EventHub:
    """Fan-out of named events to every connected client."""

    def __init__(self) -> None:
        self._subs: set[_Subscriber] = set()
        self._lock = threading.Lock()
        self._latest: dict[str, Any] = {}
        self.closed = threading.Event()

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, event: str, data: Any, sticky: bool = False) -> None:
        """Send ``data`` as ``event`` to every client; callable from any thread.

        ``sticky`` events are also replayed to clients that connect later (the
        latest service list, the latest telemetry sample).
        """
        with self._lock:
            if sticky:
                self._latest[event] = data
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, (event, data))
            except RuntimeError:  # its loop has closed
                with self._lock:
                    self._subs.discard(sub)

    async def stream(self, is_disconnected) -> AsyncIterator[str]:
        """SSE text for one client until it disconnects or the server stops."""
        sub = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subs.add(sub)
            replay = list(self._latest.items())
        try:
            yield "retry: 2000\n\n"
            for event, data in replay:
                yield sse(event, data)
            while not self.closed.is_set():
                try:
                    event, data = await asyncio.wait_for(sub.queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    if await is_disconnected():
                        break
                    yield ": keepalive\n\n"
                    continue
                yield sse(event, data)
        finally:
            with self._lock:
                self._subs.discard(sub)

    def close(self) -> None:
        """Let every open stream end (server shutdown)."""
        self.closed.set()
        self.publish("shutdown", {})

"""The event hub (any thread -> every SSE client) and task progress on /api/events."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest

from lorapilot.controlpilot.events import EventHub, sse
from support.api import api_token
from support.browser import live_controlpilot


def test_sse_format_splits_multiline_data():
    assert sse("x", "a\nb") == "event: x\ndata: a\ndata: b\n\n"
    assert sse("services", {"n": 1}) == 'event: services\ndata: {"n":1}\n\n'


def test_events_published_from_threads_reach_clients_and_sticky_ones_replay():
    hub = EventHub()
    hub.publish("system", {"cpu": 1}, sticky=True)
    hub.publish("note", {"ignored": True})  # not sticky: a later client never sees it

    async def scenario():
        async def never_disconnected():
            return False

        stream = hub.stream(never_disconnected)
        assert await stream.__anext__() == "retry: 2000\n\n"
        assert await stream.__anext__() == sse("system", {"cpu": 1})
        threading.Thread(target=hub.publish, args=("tasks", {"n": 2})).start()
        assert await asyncio.wait_for(stream.__anext__(), 5) == sse("tasks", {"n": 2})
        assert hub.subscribers == 1
        await stream.aclose()
        assert hub.subscribers == 0

    asyncio.run(scenario())


def test_a_slow_client_keeps_only_the_newest_events():
    hub = EventHub()

    async def scenario():
        async def never_disconnected():
            return False

        stream = hub.stream(never_disconnected)
        await stream.__anext__()  # subscribed
        for i in range(1000):
            hub.publish("tick", {"i": i})
        await asyncio.sleep(0.1)  # let the loop deliver
        first = await stream.__anext__()
        await stream.aclose()
        return json.loads(first.split("data: ")[1])["i"]

    assert asyncio.run(scenario()) == 1000 - 256  # the queue holds 256: older ones were dropped


def test_task_progress_is_pushed_on_the_event_stream(ctx):
    with live_controlpilot(ctx) as server:
        tasks = server.app.state.tasks
        release = threading.Event()
        headers = {"Authorization": f"Bearer {api_token(ctx)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            with http.stream("GET", "/api/events") as resp:
                lines = resp.iter_lines()

                def work(progress, cancel):
                    progress(3, 10, "three of ten")
                    release.wait(10)
                    return "ok"

                task = tasks.submit("demo", "Demo work", work)
                seen = _wait_event(
                    lines, "tasks", lambda d: any(t["id"] == task.id and t["current"] == 3 for t in d["tasks"])
                )
                assert next(t for t in seen["tasks"] if t["id"] == task.id)["message"] == "three of ten"
                release.set()
                _wait_event(
                    lines, "tasks", lambda d: any(t["id"] == task.id and t["state"] == "done" for t in d["tasks"])
                )


def _wait_event(lines, name, wanted):
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == name:
            data = json.loads(line[6:])
            if wanted(data):
                return data
    raise AssertionError(f"no matching {name} event")


@pytest.mark.timeout(60)
def test_a_new_stream_gets_the_task_list_even_before_any_task_ran(ctx):
    # Pages wait for the first `tasks` event before they stop asking on their own.
    with live_controlpilot(ctx) as server:
        headers = {"Authorization": f"Bearer {api_token(ctx)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            with http.stream("GET", "/api/events") as resp:
                assert _wait_event(resp.iter_lines(), "tasks", lambda d: True) == {"tasks": []}

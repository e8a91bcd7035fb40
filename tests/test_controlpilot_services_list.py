"""GET /api/services when nothing runs yet: every component listed, a message, and a URL
only for services that have a port (a post-start task has none)."""

from __future__ import annotations

from support.api import make_client


def test_the_list_without_a_running_manager_says_why_and_links_only_real_ports(ctx):
    body = make_client(ctx).get("/api/services").json()
    assert body["running"] is False and "lorapilot up" in body["message"]
    by_name = {s["name"]: s for s in body["services"]}
    assert set(by_name) == {p.name for p in ctx.plan()}
    task = by_name["invokeai-sync-models"]  # InvokeAI's post-start task: no port
    assert task["port"] == 0 and task["url"] is None
    tb = by_name["tensorboard"]
    assert tb["url"] == f"http://testserver:{tb['port']}/"

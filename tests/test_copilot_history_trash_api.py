"""Deleting Copilot history through ControlPilot's /api/copilot proxy: to the trash, restore, purge, empty."""

from __future__ import annotations

import pytest

from support.api import make_anonymous_client, make_client
from support.copilot_sidecar import running_sidecar
from support.workspaces import make_workspace

ENV = {"COPILOT_GITHUB_TOKEN": "", "GITHUB_TOKEN": "", "GH_TOKEN": "gho_env"}
TRASH_ROUTES = (
    ("DELETE", "/api/copilot/history"),
    ("DELETE", "/api/copilot/history/1"),
    ("GET", "/api/copilot/trash"),
    ("POST", "/api/copilot/trash/restore"),
    ("DELETE", "/api/copilot/trash/1"),
    ("POST", "/api/copilot/trash/empty"),
)


@pytest.fixture
def ctx(tmp_path):
    return make_workspace(tmp_path / "ws", enabled={"copilot"})


def _ask(client, prompt: str, conversation_id: str | None = None) -> dict:
    resp = client.post("/api/copilot/chat", json={"prompt": prompt, "conversation_id": conversation_id})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_trash_routes_need_auth(ctx):
    anonymous = make_anonymous_client(ctx)
    for method, path in TRASH_ROUTES:
        assert anonymous.request(method, path, json={}).status_code == 401, path


def test_delete_restore_clear_undo_and_empty_through_the_proxy(ctx):
    client = make_client(ctx)
    with running_sidecar(ctx, env=ENV):
        first = _ask(client, "first question")
        second = _ask(client, "second question", first["conversation_id"])
        other = _ask(client, "another conversation")

        deleted = client.delete(f"/api/copilot/history/{first['id']}")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["deleted"] == 1
        ids = [e["id"] for e in client.get("/api/copilot/history").json()["entries"]]
        assert ids == [other["id"], second["id"]]
        assert client.get(f"/api/copilot/history/{first['id']}").status_code == 404
        trash = client.get("/api/copilot/trash").json()["entries"]
        assert [(e["id"], e["prompt"]) for e in trash] == [(first["id"], "first question")]
        assert trash[0]["answer"] == first["stdout"]  # kept whole, restorable

        restored = client.post("/api/copilot/trash/restore", json={"id": first["id"]})
        assert restored.json() == {"restored": 1}
        assert client.get(f"/api/copilot/history/{first['id']}").json()["prompt"] == "first question"

        # Clear all, then undo it with the batch the clear returned.
        cleared = client.delete("/api/copilot/history").json()
        assert cleared["deleted"] == 3 and cleared["kept_running"] == 0
        assert client.get("/api/copilot/history").json()["entries"] == []
        assert client.get("/api/copilot/conversations").json()["conversations"] == []
        undo = client.post("/api/copilot/trash/restore", json={"batch": cleared["batch"]})
        assert undo.json() == {"restored": 3}
        assert len(client.get("/api/copilot/conversations").json()["conversations"]) == 2

        # One conversation only.
        one = client.delete("/api/copilot/history", params={"conversation_id": other["conversation_id"]}).json()
        assert one["deleted"] == 1
        assert [c["conversation_id"] for c in client.get("/api/copilot/conversations").json()["conversations"]] == [
            first["conversation_id"]
        ]

        # Bad input names what is wrong.
        assert client.delete("/api/copilot/history/424242").status_code == 404
        missing = client.post("/api/copilot/trash/restore", json={"id": second["id"]})
        assert missing.status_code == 404 and f"entry {second['id']}" in missing.json()["detail"]
        both = client.post("/api/copilot/trash/restore", json={})
        assert both.status_code == 400 and "exactly one of 'id'" in both.json()["detail"]
        assert client.post("/api/copilot/trash/restore", json={"batch": "../x"}).status_code == 400
        assert client.post("/api/copilot/trash/empty", json={"older_than_days": -1}).status_code == 422

        # Purge one, then empty: gone for good (nothing to restore).
        client.delete(f"/api/copilot/history/{second['id']}")
        assert client.delete(f"/api/copilot/trash/{other['id']}").json() == {"purged": 1}
        assert client.post("/api/copilot/trash/restore", json={"id": other["id"]}).status_code == 404
        assert client.post("/api/copilot/trash/empty", json={"older_than_days": 30}).json() == {"purged": 0}
        assert client.post("/api/copilot/trash/empty", json={}).json() == {"purged": 1}
        assert client.get("/api/copilot/trash").json()["entries"] == []
        assert [e["id"] for e in client.get("/api/copilot/history").json()["entries"]] == [first["id"]]


def test_trash_through_the_proxy_without_a_sidecar_is_a_clear_503(ctx):
    resp = make_client(ctx).delete("/api/copilot/history/1")
    assert resp.status_code == 503 and resp.json()["state"] == "sidecar_not_running"


def test_a_running_entry_cannot_be_deleted_and_clear_keeps_it(ctx):
    from support.copilot_sidecar import read_sse

    client = make_client(ctx)
    with running_sidecar(ctx, env=ENV) as sc, sc.client() as direct:
        done = _ask(client, "finished one")
        with direct.stream("POST", "/chat", json={"prompt": "fake: sleep 60", "stream": True}) as resp:
            for kind, data in read_sse(resp.iter_lines()):
                if kind == "start":
                    running_id = data["id"]
                    break
            refused = client.delete(f"/api/copilot/history/{running_id}")
            assert refused.status_code == 409 and "still running" in refused.json()["detail"]
            cleared = client.delete("/api/copilot/history").json()
            assert cleared["deleted"] == 1 and cleared["kept_running"] == 1
            assert [e["id"] for e in client.get("/api/copilot/trash").json()["entries"]] == [done["id"]]
            assert client.post("/api/copilot/chat/cancel").json()["cancelled"] is True

"""ControlPilot's ``/api/copilot/*``: proxied to a real sidecar, clear states, the token setting."""

from __future__ import annotations

import stat

import pytest

from lorapilot.stack.workspace.secrets import read_secrets
from support.api import make_client
from support.copilot_sidecar import read_sse, running_sidecar
from support.fake_copilot import FAKE_VERSION, parse_report
from support.workspaces import make_workspace

TOKEN = "github_pat_11PROXYTEST0123456789"
NO_ENV_TOKENS = {"COPILOT_GITHUB_TOKEN": "", "GH_TOKEN": "", "GITHUB_TOKEN": ""}


@pytest.fixture
def ctx(tmp_path):
    return make_workspace(tmp_path / "ws", enabled={"copilot"})


def test_sidecar_not_running_is_a_clear_state(ctx):
    client = make_client(ctx)
    status = client.get("/api/copilot/status").json()
    assert status["state"] == "sidecar_not_running"
    assert "lorapilot start copilot" in status["message"]
    assert status["sidecar"]["running"] is False
    chat = client.post("/api/copilot/chat", json={"prompt": "hi"})
    assert chat.status_code == 503
    assert chat.json()["state"] == "sidecar_not_running"


def test_disabled_component_is_a_clear_state(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled=set())
    status = make_client(ctx).get("/api/copilot/status").json()
    assert status["state"] == "disabled"


def test_no_token_then_token_set_through_the_settings_field(ctx):
    client = make_client(ctx)
    with running_sidecar(ctx, env=NO_ENV_TOKENS):
        status = client.get("/api/copilot/status").json()
        assert status["state"] == "no_token"
        assert "Copilot Requests" in status["message"]
        assert status["cli"]["version"] == FAKE_VERSION

        put = client.put("/api/copilot/token", json={"token": TOKEN})
        assert put.status_code == 200
        assert put.json() == {"configured": True, "source": "secrets.env:COPILOT_GITHUB_TOKEN"}
        assert TOKEN not in put.text
        secrets = ctx.workspace.secrets_file
        assert read_secrets(secrets)["COPILOT_GITHUB_TOKEN"] == TOKEN
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600

        ready = client.get("/api/copilot/status")
        assert ready.json()["state"] == "ready"
        assert TOKEN not in ready.text
        assert client.get("/api/copilot/token").json()["configured"] is True

        bad = client.put("/api/copilot/token", json={"token": "has spaces in it"})
        assert bad.status_code == 400 and "token" in bad.json()["detail"]
        assert client.put("/api/copilot/token", json={"token": "x\ny" * 10}).status_code == 400

        assert client.delete("/api/copilot/token").json() == {"configured": False, "source": None}
        assert client.get("/api/copilot/status").json()["state"] == "no_token"


def test_cli_not_installed_is_a_clear_state(ctx, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with running_sidecar(ctx, bin_dir=empty, fake=False, env={"PATH": f"{empty}:/usr/bin:/bin"}):
        status = make_client(ctx).get("/api/copilot/status").json()
    assert status["state"] == "cli_not_installed"
    assert "npm install -g @github/copilot" in status["message"]


def test_chat_history_and_sse_through_the_proxy(ctx):
    client = make_client(ctx)
    (ctx.workspace.root / "datasets").mkdir(exist_ok=True)
    with running_sidecar(ctx, env={**NO_ENV_TOKENS, "GH_TOKEN": "gho_env"}):
        resp = client.post("/api/copilot/chat", json={"prompt": "hello through ControlPilot", "cwd": "datasets"})
        assert resp.status_code == 200, resp.text
        result = resp.json()
        assert parse_report(result["stdout"])["stdin"] == "hello through ControlPilot"
        assert result["cwd"] == "datasets"

        with client.stream(
            "POST",
            "/api/copilot/chat",
            json={"prompt": "fake: stdout streamed", "stream": True, "conversation_id": result["conversation_id"]},
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = list(read_sse(stream.iter_lines()))
        assert [k for k, _ in events][0] == "start" and events[-1][0] == "end"
        assert "streamed" in events[-1][1]["stdout"]

        history = client.get("/api/copilot/history", params={"conversation_id": result["conversation_id"]}).json()
        assert [e["prompt"] for e in history["entries"]] == ["fake: stdout streamed", "hello through ControlPilot"]
        one = client.get(f"/api/copilot/history/{result['id']}").json()
        assert one["answer"] == result["stdout"]
        assert client.get("/api/copilot/history/424242").status_code == 404
        conversations = client.get("/api/copilot/conversations").json()["conversations"]
        assert conversations[0]["messages"] == 2

        escape = client.post("/api/copilot/chat", json={"prompt": "x", "cwd": "../.."})
        assert escape.status_code == 400
        refused = client.post("/api/copilot/chat", json={"prompt": "x", "allow_all_paths": True})
        assert refused.status_code == 403
        assert client.post("/api/copilot/chat/cancel").json() == {"cancelled": False, "running": None}


def test_busy_and_auth_pass_through_the_proxy(ctx):
    from support.api import make_anonymous_client

    anonymous = make_anonymous_client(ctx)
    for method, path in (
        ("GET", "/api/copilot/status"),
        ("POST", "/api/copilot/chat"),
        ("PUT", "/api/copilot/token"),
        ("GET", "/api/copilot/token"),
        ("DELETE", "/api/copilot/token"),
        ("POST", "/api/copilot/chat/cancel"),
        ("GET", "/api/copilot/history"),
        ("GET", "/api/copilot/history/1"),
        ("GET", "/api/copilot/conversations"),
    ):
        assert anonymous.request(method, path, json={}).status_code == 401, path
    client = make_client(ctx)
    with running_sidecar(ctx, env=NO_ENV_TOKENS) as sc, sc.client() as direct:
        with direct.stream(
            "POST", "/chat", json={"prompt": "fake: stdout busy\nfake: sleep 60", "stream": True}
        ) as resp:
            for kind, _ in read_sse(resp.iter_lines()):
                if kind == "start":
                    break
            busy = client.post("/api/copilot/chat", json={"prompt": "me too"})
            assert busy.status_code == 429
            assert busy.headers["retry-after"] == "5"
            assert client.get("/api/copilot/status").json()["busy"] is True
            assert client.post("/api/copilot/chat/cancel").json()["cancelled"] is True

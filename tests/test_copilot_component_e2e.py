"""The ``copilot`` component under a real supervisord: launcher token, probe, loopback, proxy, stop."""

from __future__ import annotations

import hashlib
import json

import httpx
import psutil
import pytest

from lorapilot.stack.workspace.secrets import set_secret
from support.api import make_client
from support.fake_copilot import install_fake_copilot, parse_report, path_with
from support.running import lorapilot, running, wait_for
from support.workspaces import make_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
TOKEN = "github_pat_11E2ETOKEN0123456789"


def _status(ctx):
    return {s["name"]: s for s in json.loads(lorapilot(ctx, "status", "--json").stdout)}


def test_copilot_component_runs_under_supervisord(tmp_path, monkeypatch):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    bin_dir = tmp_path / "bin"
    install_fake_copilot(bin_dir)
    monkeypatch.setenv("PATH", path_with(bin_dir))
    for name in ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    (ctx.workspace.root / "config").mkdir(exist_ok=True)
    set_secret(ctx.workspace.secrets_file, "COPILOT_GITHUB_TOKEN", TOKEN)
    port = ctx.registry.get("copilot").port

    with running(ctx):
        wait_for(lambda: _status(ctx)["copilot"]["ready"], what="copilot ready (its /health probe)")
        # Bound to loopback only, whatever the workspace's host setting.
        listening = {
            c.laddr.ip
            for c in psutil.net_connections("tcp")
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
        }
        assert listening == {"127.0.0.1"}

        client = make_client(ctx)
        status = client.get("/api/copilot/status").json()
        assert status["state"] == "ready", status
        assert status["token"] == {"configured": True, "source": "secrets.env:COPILOT_GITHUB_TOKEN"}
        result = client.post("/api/copilot/chat", json={"prompt": "hello from the dashboard"}).json()
        report = parse_report(result["stdout"])
        assert report["stdin"] == "hello from the dashboard"
        assert report["token_sha256"] == hashlib.sha256(TOKEN.encode()).hexdigest()

        lorapilot(ctx, "stop", "copilot")
        assert client.get("/api/copilot/status").json()["state"] == "sidecar_not_running"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        lorapilot(ctx, "start", "copilot")
        wait_for(lambda: client.get("/api/copilot/status").json()["state"] == "ready", what="copilot back")
        history = client.get("/api/copilot/history").json()["entries"]
        assert [e["prompt"] for e in history] == ["hello from the dashboard"]

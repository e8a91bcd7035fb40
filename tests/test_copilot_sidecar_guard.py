"""Only ControlPilot's proxy drives the sidecar: loopback Host only (DNS rebinding), no browser
requests (cross-site "simple" requests), and the shared secret from secrets.env on every call."""

from __future__ import annotations

import stat

import httpx
import pytest

from lorapilot.stack.workspace.secrets import read_secrets
from lorapilot.tools.copilot.guard import SECRET_HEADER, SECRET_KEY
from support.api import make_client
from support.copilot_sidecar import running_sidecar
from support.workspaces import make_workspace

# Every sidecar route with a harmless body (the audit drove these with a rebinding Host).
ROUTES = [
    ("POST", "/chat", {"prompt": "hi", "allow_tools": ["shell(bash:*)", "write"]}),
    ("POST", "/chat/cancel", None),
    ("GET", "/status", None),
    ("GET", "/history", None),
    ("GET", "/history/1", None),
    ("DELETE", "/history", None),
    ("DELETE", "/history/1", None),
    ("GET", "/conversations", None),
    ("GET", "/trash", None),
    ("POST", "/trash/restore", {"batch": "x"}),
    ("DELETE", "/trash/1", None),
    ("POST", "/trash/empty", {}),
]


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory):
    ctx = make_workspace(tmp_path_factory.mktemp("guard") / "ws", enabled={"copilot"})
    with running_sidecar(ctx) as sc:
        yield sc


def _send(sc, method, path, body, headers, secret=True):
    with sc.client(secret=secret) as client:
        return client.request(method, path, json=body, headers=headers)


def test_the_secret_is_generated_into_secrets_env_0600(sidecar):
    secrets_file = sidecar.ctx.workspace.secrets_file
    assert len(read_secrets(secrets_file)[SECRET_KEY]) >= 24
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_a_rebinding_host_is_refused_on_every_route(sidecar, method, path, body):
    port = sidecar.url.rsplit(":", 1)[1]
    resp = _send(sidecar, method, path, body, {"Host": f"rebind.evil.example:{port}"})
    assert resp.status_code == 403, resp.text
    assert "loopback Host" in resp.json()["detail"]


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_without_the_secret_every_route_is_refused(sidecar, method, path, body):
    resp = _send(sidecar, method, path, body, {}, secret=False)
    assert resp.status_code == 403, resp.text
    assert SECRET_KEY in resp.json()["detail"]
    wrong = _send(sidecar, method, path, body, {SECRET_HEADER: "guess"}, secret=False)
    assert wrong.status_code == 403


def test_a_cross_site_simple_request_is_refused_even_with_the_secret(sidecar):
    # A form POST from any page: no body, a foreign Origin.
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = httpx.post(f"{sidecar.url}/chat/cancel", headers=headers, timeout=10)
        assert resp.status_code == 403
        with sidecar.client() as client:
            assert client.post("/chat/cancel", headers=headers).status_code == 403


def test_with_the_secret_and_a_local_host_it_answers(sidecar):
    with sidecar.client() as client:
        assert client.post("/chat/cancel").json() == {"cancelled": False, "running": None}
        assert client.get("/history", headers={"Host": "localhost"}).status_code == 200
    # The process manager's probe needs no secret.
    assert httpx.get(f"{sidecar.url}/health", timeout=5).json() == {"status": "ok"}


def test_the_controlpilot_proxy_sends_the_secret(sidecar):
    client = make_client(sidecar.ctx)
    assert client.get("/api/copilot/status").json()["sidecar"]["running"] is True
    assert client.post("/api/copilot/chat/cancel").json() == {"cancelled": False, "running": None}
    refused = client.post("/api/copilot/chat", json={"prompt": "x", "allow_tools": ["shell(bash:*)"]})
    assert refused.status_code == 403 and "permit-allow-all" in refused.json()["detail"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/history/9223372036854775808"),
        ("DELETE", "/history/9223372036854775808"),
        ("DELETE", "/trash/-9223372036854775809"),
    ],
)
def test_ids_beyond_64_bits_are_a_400_not_a_500(sidecar, method, path):
    with sidecar.client() as client:
        assert client.request(method, path).status_code == 400
        restore = client.post("/trash/restore", json={"id": 2**63})
        assert restore.status_code == 400, restore.text

"""Password login, session cookies, API tokens and the failed-login rate limit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lorapilot.controlpilot.app import create_app
from lorapilot.controlpilot.auth import SESSION_COOKIE
from lorapilot.controlpilot.tokens import TokenStore
from lorapilot.stack.workspace.secrets import set_secret
from support.api import make_anonymous_client, make_client
from support.workspaces import make_workspace

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(ctx):
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", PASSWORD)
    return make_anonymous_client(ctx)


def test_login_sets_an_httponly_strict_cookie_that_opens_the_api(client):
    assert client.get("/api/services").status_code == 401
    resp = client.post("/api/auth/login", json={"password": PASSWORD})
    assert resp.status_code == 200, resp.text
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.get("/api/auth/session").json() == {
        "authenticated": True,
        "auth_required": True,
        "password_set": True,
        "via": "session",
    }
    assert client.get("/api/services").status_code == 200


def test_wrong_password_is_refused_with_a_message(client):
    resp = client.post("/api/auth/login", json={"password": "nope"})
    assert resp.status_code == 401
    assert resp.json() == {"detail": "wrong password"}
    assert SESSION_COOKIE not in client.cookies


def test_failed_logins_are_rate_limited_even_for_the_right_password(client):
    for _ in range(5):
        assert client.post("/api/auth/login", json={"password": "guess"}).status_code == 401
    resp = client.post("/api/auth/login", json={"password": PASSWORD})
    assert resp.status_code == 429
    assert int(resp.headers["retry-after"]) > 0
    assert "too many failed logins" in resp.json()["detail"]


def test_a_forged_or_tampered_cookie_is_refused(client):
    client.post("/api/auth/login", json={"password": PASSWORD})
    good = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    flipped = good[:10] + ("B" if good[10] != "B" else "C") + good[11:]
    for forged in (flipped, good[:-1], good + "A", "1.2.3", "garbage", "x" * 500):
        client.cookies.set(SESSION_COOKIE, forged)
        assert client.get("/api/services").status_code == 401, forged
        client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, good)
    assert client.get("/api/services").status_code == 200


def test_logout_ends_the_session_even_for_a_kept_copy(client):
    client.post("/api/auth/login", json={"password": PASSWORD})
    kept = client.cookies[SESSION_COOKIE]
    assert client.post("/api/auth/logout").status_code == 204
    client.cookies.set(SESSION_COOKIE, kept)
    assert client.get("/api/services").status_code == 401


def test_changing_the_password_ends_every_session(ctx, client):
    client.post("/api/auth/login", json={"password": PASSWORD})
    assert client.get("/api/services").status_code == 200
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", "a new password")
    assert client.get("/api/services").status_code == 401


def test_env_password_wins_over_secrets_file(ctx, client, monkeypatch):
    monkeypatch.setenv("LORAPILOT_PASSWORD", "from-env")
    assert client.post("/api/auth/login", json={"password": PASSWORD}).status_code == 401
    assert client.post("/api/auth/login", json={"password": "from-env"}).status_code == 200


def test_no_password_set_explains_how_to_set_one(ctx):
    client = make_anonymous_client(ctx)
    resp = client.post("/api/auth/login", json={"password": "x"})
    assert resp.status_code == 503
    assert "CONTROLPILOT_PASSWORD" in resp.json()["detail"]


def test_bearer_tokens_are_stored_hashed_shown_once_and_revocable(ctx, client):
    store = TokenStore(ctx.workspace)
    info, secret = store.create("ci")
    assert secret not in store.path.read_text()
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/services", headers=auth).status_code == 200
    # Created over the API: the secret comes back once, never in the list.
    created = client.post("/api/auth/tokens", json={"name": "script"}, headers=auth)
    assert created.status_code == 201
    new_secret = created.json()["token"]
    listed = client.get("/api/auth/tokens", headers=auth).json()
    assert {t["name"] for t in listed} == {"ci", "script"}
    assert new_secret not in str(listed)
    assert client.delete(f"/api/auth/tokens/{info.id}", headers=auth).status_code == 200
    assert client.get("/api/services", headers=auth).status_code == 401
    assert client.get("/api/services", headers={"Authorization": "Bearer lpt_madeup"}).status_code == 401


def test_make_client_carries_valid_credentials(ctx):
    assert make_client(ctx).get("/api/services").status_code == 200


def test_cross_site_posts_are_refused_even_with_a_session(client):
    client.post("/api/auth/login", json={"password": PASSWORD})
    resp = client.post("/api/services/tensorboard/stop", headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403
    resp = client.post("/api/auth/login", json={"password": PASSWORD}, headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status_code == 403


def test_loopback_needs_no_login_unless_configured(tmp_path):
    open_ctx = make_workspace(tmp_path / "open")
    local = TestClient(create_app(open_ctx, bind_host="127.0.0.1"), base_url="http://127.0.0.1:7878")
    assert local.get("/api/auth/tokens").status_code == 200
    strict_ctx = make_workspace(tmp_path / "strict", settings={"controlpilot": {"auth": "always"}})
    assert make_anonymous_client(strict_ctx, bind_host="127.0.0.1").get("/api/auth/tokens").status_code == 401


def test_without_login_on_loopback_only_local_host_names_are_answered(tmp_path):
    # DNS rebinding: evil.example re-pointed at 127.0.0.1 sends Host: evil.example.
    app = create_app(make_workspace(tmp_path / "ws"), bind_host="127.0.0.1")
    for host in ("localhost", "localhost:7878", "127.0.0.1:7878", "[::1]:7878", "app.localhost:7878"):
        assert TestClient(app, base_url=f"http://{host}").get("/api/files").status_code == 200, host
    for host in ("evil.example", "evil.example:7878", "127.0.0.1.evil.example", "192.168.1.5:7878", "[::2]"):
        resp = TestClient(app, base_url=f"http://{host}").get("/api/files")
        assert resp.status_code == 403, host
        assert "answers only to localhost" in resp.json()["detail"]
    # The page itself and the health check hold no data: still served.
    assert TestClient(app, base_url="http://evil.example").get("/api/health").status_code == 200


def test_guessing_from_many_addresses_never_locks_the_real_user_out(ctx):
    """The audit: after 12 addresses × 5 wrong passwords the right one was refused for everyone for 300 s."""
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", PASSWORD)
    app = create_app(ctx, bind_host="0.0.0.0")
    for i in range(12):
        attacker = TestClient(app, client=(f"203.0.113.{i}", 40000))
        for _ in range(5):
            assert attacker.post("/api/auth/login", json={"password": "guess"}).status_code in (401, 429)
    assert app.state.auth.limiter.under_attack()
    user = TestClient(app, client=("198.51.100.7", 40000))
    assert user.post("/api/auth/login", json={"password": PASSWORD}).status_code == 200
    attacker = TestClient(app, client=("203.0.113.3", 40000))
    assert attacker.post("/api/auth/login", json={"password": PASSWORD}).status_code == 429


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(tmp_path):
    """The audit: a loopback peer with a new X-Forwarded-For per request got a fresh limit each time."""
    ctx = make_workspace(tmp_path / "ws")
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", PASSWORD)
    peer = TestClient(create_app(ctx, bind_host="0.0.0.0"), client=("127.0.0.1", 40000))
    codes = [
        peer.post(
            "/api/auth/login", json={"password": "guess"}, headers={"X-Forwarded-For": f"198.51.100.{i}"}
        ).status_code
        for i in range(8)
    ]
    assert codes[:5] == [401] * 5 and 429 in codes[5:]

    trusted = make_workspace(tmp_path / "ws2", settings={"controlpilot": {"trusted_proxies": ["127.0.0.1/32"]}})
    set_secret(trusted.workspace.secrets_file, "CONTROLPILOT_PASSWORD", PASSWORD)
    proxy = TestClient(create_app(trusted, bind_host="0.0.0.0"), client=("127.0.0.1", 40000))
    for _ in range(6):
        proxy.post("/api/auth/login", json={"password": "guess"}, headers={"X-Forwarded-For": "198.51.100.1"})
    blocked = proxy.post("/api/auth/login", json={"password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.1"})
    assert blocked.status_code == 429
    other = proxy.post(
        "/api/auth/login", json={"password": PASSWORD}, headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.2"}
    )
    assert other.status_code == 200  # the nearest untrusted hop is the client


def test_the_real_server_ignores_x_forwarded_for_from_a_loopback_peer(tmp_path):
    """uvicorn's own proxy-header trust (on for 127.0.0.1 by default) is off: a new X-Forwarded-For
    per request does not buy a new limit."""
    import httpx

    from support.serve_process import serve_process

    ctx = make_workspace(tmp_path / "ws", settings={"controlpilot": {"auth": "always"}})
    with serve_process(ctx, env={"LORAPILOT_PASSWORD": PASSWORD}) as base:
        codes = [
            httpx.post(
                f"{base}/api/auth/login",
                json={"password": "guess"},
                timeout=10,
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            ).status_code
            for i in range(7)
        ]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]

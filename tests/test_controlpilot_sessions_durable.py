"""Login sessions live in the workspace's SQLite: logout, revocation and a password change hold in
every server process and across restarts. Real `lorapilot controlpilot serve` processes (uvicorn on
loopback) and the real CLI."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from lorapilot.controlpilot.auth import SESSION_COOKIE
from lorapilot.stack.workspace.secrets import ensure_secrets, set_secret
from support.serve_process import serve_process
from support.workspaces import make_workspace

PASSWORD = "sessions-test-password"


@pytest.fixture
def ctx(tmp_path):
    ctx = make_workspace(tmp_path / "ws", settings={"controlpilot": {"auth": "always"}})
    ctx.workspace.config.mkdir(parents=True, exist_ok=True)
    ensure_secrets(ctx.workspace.secrets_file)  # as `lorapilot init` leaves it (with a session key)
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", PASSWORD)
    return ctx


def _login(base: str, agent: str = "pytest-browser") -> str:
    resp = httpx.post(base + "/api/auth/login", json={"password": PASSWORD}, headers={"User-Agent": agent})
    assert resp.status_code == 200, resp.text
    return resp.cookies[SESSION_COOKIE]


def _status(base: str, cookie: str) -> int:
    return httpx.get(base + "/api/services", cookies={SESSION_COOKIE: cookie}).status_code


def _cli(ctx, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", "controlpilot", "sessions", *args, "--workspace", str(ctx.workspace.root)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_logged_out_cookie_stays_refused_after_a_restart_and_others_survive_it(ctx):
    with serve_process(ctx) as base:
        gone, kept = _login(base), _login(base)
        assert _status(base, gone) == 200 and _status(base, kept) == 200
        resp = httpx.post(base + "/api/auth/logout", cookies={SESSION_COOKIE: gone})
        assert resp.status_code == 204
        assert _status(base, gone) == 401
    with serve_process(ctx) as base:  # a new process: nothing remembered in memory
        assert _status(base, gone) == 401
        assert _status(base, kept) == 200


def test_logout_in_one_worker_process_holds_in_another(ctx):
    with serve_process(ctx) as first, serve_process(ctx) as second:
        cookie = _login(first)
        assert _status(second, cookie) == 200  # one session, two processes
        assert httpx.post(second + "/api/auth/logout", cookies={SESSION_COOKIE: cookie}).status_code == 204
        assert _status(first, cookie) == 401
        assert _status(second, cookie) == 401


def test_the_cli_lists_and_revokes_sessions_while_the_server_runs(ctx):
    with serve_process(ctx) as base:
        laptop, phone, tablet = _login(base, "laptop-agent"), _login(base, "phone-agent"), _login(base, "tablet-agent")
        listed = _cli(ctx, "list")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert len(lines) == 3 and all("127.0.0.1" in line for line in lines)
        assert laptop not in listed.stdout  # the cookie itself is never shown
        phone_id = next(line.split()[0] for line in lines if "phone-agent" in line)

        revoked = _cli(ctx, "revoke", phone_id[:6])
        assert revoked.returncode == 0, revoked.stderr
        assert f"revoked {phone_id}" in revoked.stdout
        assert _status(base, phone) == 401
        assert _status(base, laptop) == 200 and _status(base, tablet) == 200

        again = _cli(ctx, "revoke", phone_id)
        assert again.returncode == 1 and f"no open session {phone_id!r}" in again.stderr
        assert _cli(ctx, "revoke").returncode == 2  # neither an id nor --all

        everything = _cli(ctx, "revoke", "--all")
        assert everything.returncode == 0 and "revoked 2 session(s)" in everything.stdout
        assert _status(base, laptop) == 401 and _status(base, tablet) == 401
        assert _cli(ctx, "list").stdout.strip() == "no open sessions"


def test_changing_the_password_ends_every_session_in_every_process_and_after_a_restart(ctx):
    with serve_process(ctx) as first, serve_process(ctx) as second:
        one, two = _login(first), _login(second)
        changed = subprocess.run(
            [
                sys.executable,
                "-m",
                "lorapilot",
                "secrets",
                "set",
                "CONTROLPILOT_PASSWORD",
                "--value",
                "a new one",
                "--workspace",
                str(ctx.workspace.root),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert changed.returncode == 0, changed.stderr
        for base in (first, second):
            assert _status(base, one) == 401 and _status(base, two) == 401
    assert _cli(ctx, "list").stdout.strip() == "no open sessions"  # the server dropped them
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", PASSWORD)  # even the old password back
    with serve_process(ctx) as base:
        assert _status(base, one) == 401 and _status(base, two) == 401
        assert _status(base, _login(base)) == 200


def test_sessions_of_a_password_changed_while_no_server_ran_are_marked_then_dropped(ctx):
    with serve_process(ctx) as base:
        cookie = _login(base)
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", "changed while down")
    listed = _cli(ctx, "list")
    assert "opened with an older password: no longer works" in listed.stdout
    with serve_process(ctx) as base:
        assert _status(base, cookie) == 401
    assert _cli(ctx, "list").stdout.strip() == "no open sessions"

"""The session store (SQLite) and `/api/auth/sessions`: list, revoke one, revoke all, expiry."""

from __future__ import annotations

import sqlite3
import time

import pytest

from lorapilot.controlpilot.auth import SESSION_COOKIE
from lorapilot.controlpilot.sessions import SESSIONS_DB, SessionStore
from lorapilot.kit.errors import LorapilotError, NotFoundError
from lorapilot.stack.workspace.secrets import set_secret
from support.api import make_anonymous_client

PASSWORD = "api-sessions-password"


@pytest.fixture
def store(tmp_path):
    return SessionStore(tmp_path / "apps" / "controlpilot" / SESSIONS_DB)


@pytest.fixture
def client(ctx):
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", PASSWORD)
    return make_anonymous_client(ctx)


def test_only_a_hash_of_the_cookie_is_stored_in_a_private_file(store):
    secret, info = store.open(PASSWORD, 3600, "agent", "10.0.0.7")
    assert store.check(secret, PASSWORD) == info.id
    raw = store.path.read_bytes() + store.path.with_name(SESSIONS_DB + "-wal").read_bytes()
    assert secret.encode() not in raw and PASSWORD.encode() not in raw
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert store.check(secret, "another password") is None
    assert store.check(secret[:-1], PASSWORD) is None


def test_expired_sessions_are_refused_and_pruned(store):
    old, _ = store.open(PASSWORD, 0.05, "old", "")
    fresh, _ = store.open(PASSWORD, 3600, "fresh", "")
    time.sleep(0.1)
    assert store.check(old, PASSWORD) is None
    assert [s.user_agent for s in store.list()] == ["fresh"]
    rows = sqlite3.connect(store.path).execute("SELECT user_agent FROM sessions").fetchall()
    assert rows == [("fresh",)]  # the expired row is gone from the file, not just hidden
    assert store.check(fresh, PASSWORD) is not None


def test_last_seen_is_recorded_at_most_once_a_minute(store, monkeypatch):
    secret, info = store.open(PASSWORD, 3600)
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    store.check(secret, PASSWORD)
    assert store.list()[0].last_seen == pytest.approx(later)
    monkeypatch.setattr(time, "time", lambda: later + 5)
    store.check(secret, PASSWORD)
    assert store.list()[0].last_seen == pytest.approx(later)  # within the minute: no write


def test_revoking_by_id_needs_an_unambiguous_id(store):
    secrets_ = [store.open(PASSWORD, 3600)[0] for _ in range(40)]
    listed = store.list()
    with pytest.raises(LorapilotError, match="at least 4 of the hex digits"):
        store.revoke("ab")
    with pytest.raises(LorapilotError, match="at least 4 of the hex digits"):
        store.revoke("not-hex!")
    with pytest.raises(NotFoundError, match="no open session 'ffffffffffff'"):
        store.revoke("ffffffffffff")  # 40 random ids: a clash has odds of about 1 in 7e12
    target = listed[7]
    assert store.revoke(target.id.upper()).id == target.id
    assert len(store.list()) == 39
    assert sum(store.check(s, PASSWORD) is None for s in secrets_) == 1


def test_a_shared_prefix_is_refused_rather_than_guessed(store):
    store.open(PASSWORD, 3600), store.open(PASSWORD, 3600)
    db = sqlite3.connect(store.path)
    db.execute("UPDATE sessions SET id_hash = 'abcd' || substr(id_hash, 5)")  # force a common prefix
    db.commit()
    with pytest.raises(LorapilotError, match="matches more than one session"):
        store.revoke("abcd")
    assert len(store.list()) == 2  # neither was revoked


def test_the_api_lists_sessions_marks_the_current_one_and_revokes(ctx, client):
    other = make_anonymous_client(ctx)
    assert (
        other.post("/api/auth/login", json={"password": PASSWORD}, headers={"User-Agent": "other"}).status_code == 200
    )
    assert (
        client.post("/api/auth/login", json={"password": PASSWORD}, headers={"User-Agent": "mine"}).status_code == 200
    )
    assert make_anonymous_client(ctx).get("/api/auth/sessions").status_code == 401
    listed = client.get("/api/auth/sessions").json()
    assert [(s["user_agent"], s["current"]) for s in listed] == [("mine", True), ("other", False)]
    assert SESSION_COOKIE not in str(listed) and client.cookies[SESSION_COOKIE] not in str(listed)
    assert listed[0]["expires"] > listed[0]["created"] and listed[0]["address"]

    other_id = listed[1]["id"]
    resp = client.delete(f"/api/auth/sessions/{other_id}")
    assert resp.status_code == 200 and resp.json()["id"] == other_id
    assert other.get("/api/services").status_code == 401
    assert client.delete(f"/api/auth/sessions/{other_id}").status_code == 404

    # Revoke everything but this browser, then this browser too.
    for _ in range(2):
        assert make_anonymous_client(ctx).post("/api/auth/login", json={"password": PASSWORD}).status_code == 200
    assert client.delete("/api/auth/sessions").json() == {"revoked": 2}
    assert client.get("/api/services").status_code == 200
    mine = client.get("/api/auth/sessions").json()[0]["id"]
    resp = client.delete(f"/api/auth/sessions/{mine}")
    assert resp.status_code == 200 and resp.json()["current"] is True
    assert SESSION_COOKIE not in client.cookies  # the response cleared it
    assert client.get("/api/services").status_code == 401


def test_revoking_all_without_keeping_this_session(ctx, client):
    client.post("/api/auth/login", json={"password": PASSWORD})
    assert client.delete("/api/auth/sessions", params={"keep_current": "false"}).json() == {"revoked": 1}
    assert client.get("/api/services").status_code == 401


def test_logging_in_again_replaces_this_browsers_session(ctx, client):
    client.post("/api/auth/login", json={"password": PASSWORD})
    first = client.cookies[SESSION_COOKIE]
    client.post("/api/auth/login", json={"password": PASSWORD})
    assert client.cookies[SESSION_COOKIE] != first
    assert len(client.get("/api/auth/sessions").json()) == 1
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, first)
    assert client.get("/api/services").status_code == 401

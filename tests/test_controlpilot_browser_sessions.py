"""Headless Chromium: the Sessions page lists who is logged in and revokes sessions."""

from __future__ import annotations

import httpx
import pytest

from lorapilot.controlpilot.auth import SESSION_COOKIE
from support.browser import browser_page, live_controlpilot, login

pytestmark = pytest.mark.browser


def test_the_sessions_page_revokes_another_browser_and_then_this_one(ctx, output_dir):
    with live_controlpilot(ctx) as server, browser_page() as page:
        other = httpx.post(
            server.url + "/api/auth/login",
            json={"password": server.password},
            headers={"User-Agent": "phone-browser/1.0"},
        ).cookies[SESSION_COOKIE]
        login(page, server, "/sessions")
        page.get_by_role("heading", name="Sessions").wait_for()
        table = page.get_by_role("table", name="Sessions")
        table.get_by_text("phone-browser/1.0").wait_for()
        assert table.locator("tbody tr").count() == 2
        mine = table.locator("tbody tr", has_text="this browser")
        assert "HeadlessChrome" in mine.inner_text()
        page.screenshot(path=output_dir / "sessions.png")

        table.locator("tbody tr", has_text="phone-browser/1.0").get_by_role("button", name="Revoke").click()
        table.get_by_text("phone-browser/1.0").wait_for(state="detached")
        assert httpx.get(server.url + "/api/services", cookies={SESSION_COOKIE: other}).status_code == 401
        assert page.get_by_role("button", name="Log out all other sessions").is_disabled()

        mine.get_by_role("button", name="Log out").click()
        page.get_by_label("Password").wait_for()  # back on the login page: this session is gone too
        assert httpx.get(server.url + "/api/auth/sessions", headers={"Host": "127.0.0.1"}).status_code == 401

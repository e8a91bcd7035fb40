"""Headless Chromium: the login page, the frame's navigation, phone width."""

from __future__ import annotations

import pytest

from support.browser import PHONE, browser_page, live_controlpilot, login

pytestmark = pytest.mark.browser


def test_wrong_password_shows_the_api_message_then_login_opens_the_dashboard(ctx, output_dir):
    with live_controlpilot(ctx) as server, browser_page() as page:
        page.goto(server.url + "/services")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        assert page.get_by_role("alert").inner_text() == "wrong password"
        page.get_by_label("Password").fill(server.password)
        page.get_by_role("button", name="Log in").click()
        # Back on the page that was asked for, inside the frame.
        page.get_by_role("heading", name="Services").wait_for()
        assert page.title() == "Services · ControlPilot"
        page.get_by_role("link", name="Dashboard", exact=True).click()
        page.get_by_test_id("service-tensorboard").wait_for()
        assert page.title() == "Dashboard · ControlPilot"
        page.screenshot(path=output_dir / "dashboard.png")
        page.get_by_role("button", name="Log out").click()
        page.get_by_label("Password").wait_for()
        assert page.console_errors == [] or all("401" in e for e in page.console_errors)


def test_phone_width_folds_the_navigation_into_a_menu(ctx, output_dir):
    with live_controlpilot(ctx) as server, browser_page(viewport=PHONE) as page:
        login(page, server)
        nav = page.get_by_role("navigation", name="Pages")
        assert not nav.is_visible()
        page.get_by_role("button", name="Menu").click()
        assert nav.is_visible()
        page.get_by_test_id("service-tensorboard").wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "nothing may overflow sideways at phone width"
        page.screenshot(path=output_dir / "phone.png", full_page=True)

        # The log viewer wraps long lines instead of widening the page.
        log_file = next(p for p in ctx.plan() if p.name == "tensorboard").log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text("short line\n" + "averyveryverylongtokenwithoutspaces" * 12 + "\n")
        page.goto(server.url + "/services/tensorboard")
        page.get_by_test_id("log-lines").get_by_text("short line").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=output_dir / "phone-logs.png", full_page=True)

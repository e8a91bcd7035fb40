"""Headless Chromium: the dashboard's "Stop this machine" control: schedule, a live countdown, cancel."""

from __future__ import annotations

import re

import pytest

from lorapilot.tools.trainpilot import autostop
from support.browser import browser_page, live_controlpilot, login
from support.workspaces import make_workspace

pytestmark = pytest.mark.browser


def _seconds(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    return parts[-1] + 60 * parts[-2] + (3600 * parts[0] if len(parts) == 3 else 0)


def test_schedule_count_down_and_cancel_a_machine_stop(tmp_path, output_dir):
    settings = {"trainpilot": {"worker": False, "stop_command": ["touch", str(tmp_path / "stopped")]}}
    ctx = make_workspace(tmp_path / "ws", settings=settings)
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server)
        panel = page.get_by_role("region", name="Machine stop")
        panel.get_by_label("When").select_option("in")
        panel.get_by_label("Value").fill("10m")
        panel.get_by_role("button", name="Schedule machine stop").click()
        clock = panel.get_by_test_id("shutdown-countdown")
        clock.wait_for()
        first = _seconds(clock.inner_text())
        assert 9 * 60 < first <= 10 * 60
        # It counts down live, without a reload.
        page.wait_for_function(
            "([el, n]) => { const p = el.textContent.split(':').map(Number); return p[p.length-1] + 60*p[p.length-2] < n; }",
            arg=[clock.element_handle(), first],
        )
        assert autostop.read_plan(ctx).mode == "at"
        page.screenshot(path=output_dir / "dashboard-machine-stop.png", full_page=True)
        panel.get_by_role("button", name="Cancel machine stop").click()
        panel.get_by_role("button", name="Schedule machine stop").wait_for()
        assert autostop.read_plan(ctx) is None
        # A bad value is refused with the server's reason, and nothing is armed.
        panel.get_by_label("Value").fill("soon")
        panel.get_by_role("button", name="Schedule machine stop").click()
        page.get_by_text(re.compile("duration 'soon'")).wait_for()
        assert autostop.read_plan(ctx) is None

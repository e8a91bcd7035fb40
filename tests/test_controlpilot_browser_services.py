"""Headless Chromium against ControlPilot driving a real supervisord:
log in, see the services, stop and start one from its card, follow its live log."""

from __future__ import annotations

import httpx
import pytest

from support.api import api_token
from support.browser import browser_page, live_controlpilot, login
from support.running import running
from support.workspaces import make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]


def test_dashboard_controls_a_real_service_and_follows_its_log(tmp_path, output_dir):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "tensorboard"})
    with running(ctx), live_controlpilot(ctx) as server, browser_page() as page:
        # 1. log in
        login(page, server)

        # 2. the dashboard lists the services, with live telemetry
        card = page.get_by_test_id("service-tensorboard")
        page.get_by_test_id("service-controlpilot").wait_for()
        card.wait_for()
        page.get_by_test_id("no-gpu").wait_for()  # this machine has no GPU: said so, not an error
        _wait_attr(page, "service-tensorboard", "data-ready", "true", 90_000)
        assert card.get_attribute("data-state") == "running"
        port = ctx.registry.get("tensorboard").port
        assert card.get_by_role("link", name="Open ↗").get_attribute("href") == f"http://127.0.0.1:{port}/"
        page.screenshot(path=output_dir / "dashboard.png", full_page=True)

        # 3. stop: the card changes state (pushed over the event stream)
        card.get_by_role("button", name="Stop", exact=True).click()
        _wait_attr(page, "service-tensorboard", "data-state", "stopped")
        assert card.get_by_test_id("state").inner_text() == "stopped"

        # 4. start: it comes back and becomes ready
        card.get_by_role("button", name="Start", exact=True).click()
        _wait_attr(page, "service-tensorboard", "data-ready", "true", 90_000)
        assert card.get_attribute("data-state") == "running"
        page.screenshot(path=output_dir / "dashboard-restarted.png", full_page=True)

        # 5. its logs show live lines
        card.get_by_role("link", name="Logs").click()
        page.wait_for_url("**/services/tensorboard")
        log = page.get_by_test_id("log-lines")
        page.wait_for_function("el => el.innerText.includes('TensorBoard')", arg=log.element_handle())
        banners = log.inner_text().count("TensorBoard ")
        # A restart from outside the page: its new banner arrives in the open log view.
        headers = {"Authorization": f"Bearer {api_token(ctx)}"}
        assert (
            httpx.post(f"{server.url}/api/services/tensorboard/restart", headers=headers, timeout=60).status_code == 200
        )
        page.wait_for_function(
            "([el, n]) => (el.innerText.match(/TensorBoard /g) || []).length > n",
            arg=[log.element_handle(), banners],
            timeout=60_000,
        )
        page.get_by_label("Search the log").fill("TensorBoard")
        assert page.locator(".log-lines mark").count() >= banners + 1
        page.screenshot(path=output_dir / "logs.png", full_page=True)


def _wait_attr(page, test_id: str, attr: str, value: str, timeout: float = 30_000) -> None:
    page.wait_for_selector(f'[data-testid="{test_id}"][{attr}="{value}"]', timeout=timeout)

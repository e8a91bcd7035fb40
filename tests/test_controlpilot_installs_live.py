"""The dashboard follows installs live: an install started from the API is a task with progress, and
/api/services shows the component installed when it ends, or when `lorapilot install` ran in a
terminal meanwhile, without restarting ControlPilot. Upstreams are local (see test_install_from_pins)."""

from __future__ import annotations

import time

import pytest

from lorapilot.stack.install import install
from support.api import make_client
from test_install_from_pins import tools_on_path, upstream  # noqa: F401 - fixtures: local git repos, a wheel, uv offline


def _service(client, name: str) -> dict:
    return next(s for s in client.get("/api/services").json()["services"] if s["name"] == name)


def _wait(predicate, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_install_from_the_dashboard_is_a_task_and_the_card_turns_installed(upstream):  # noqa: F811
    ctx = upstream["ctx"]
    with make_client(ctx) as client:
        assert _service(client, "demo")["state"] == "not_installed"
        started = client.post("/api/services/demo/install")
        assert started.status_code == 202, started.text
        task_id = started.json()["task_id"]
        assert started.json()["kind"] == "install:demo"
        task = _wait(lambda: (t := client.get(f"/api/tasks/{task_id}").json())["state"] in ("done", "failed") and t)
        assert task["state"] == "done", task["error"]
        assert task["title"] == "Install Demo" and task["total"] == 2 and task["current"] == 2
        demo = _service(client, "demo")
        assert demo["installed"] is True and demo["state"] != "not_installed"

        refused = client.post("/api/services/controlpilot/install")
        assert refused.status_code in (400, 409) and "part of lorapilot itself" in refused.json()["detail"]


def test_an_install_from_a_terminal_shows_without_a_restart(upstream):  # noqa: F811
    ctx = upstream["ctx"]
    with make_client(ctx) as client:
        assert _service(client, "demo")["installed"] is False
        install(ctx, "demo")  # what `lorapilot install demo` does, beside the running ControlPilot
        _wait(lambda: _service(client, "demo")["installed"], timeout=15)


@pytest.mark.browser
def test_the_cards_install_button_installs_and_the_card_follows(upstream, output_dir):  # noqa: F811
    from support.browser import browser_page, live_controlpilot, login

    ctx = upstream["ctx"]
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server)
        card = page.get_by_test_id("service-demo")
        card.wait_for()
        assert card.get_attribute("data-state") == "not_installed"
        assert "lorapilot install demo" in card.inner_text()
        page.screenshot(path=output_dir / "dashboard-not-installed.png", full_page=True)

        # An install of this component under way (here a held task of its kind): the card shows its progress.
        import threading

        release = threading.Event()

        def held(progress, cancel):
            progress(1, 2, "uv sync: Resolved 3 packages")
            release.wait(30)

        server.app.state.tasks.submit("install:demo", "Install Demo", held, total=2)
        card.get_by_test_id("install-progress").get_by_text("uv sync: Resolved 3 packages").wait_for()
        assert card.get_by_role("button", name="Installing…").is_disabled()
        page.screenshot(path=output_dir / "dashboard-installing.png", full_page=True)
        release.set()
        card.get_by_role("button", name="Install", exact=True).wait_for()
        card.get_by_role("button", name="Install", exact=True).click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=service-demo]').dataset.state !== 'not_installed'",
            timeout=60_000,
        )
        assert card.get_by_role("button", name="Install", exact=True).count() == 0
        page.screenshot(path=output_dir / "dashboard-installed.png", full_page=True)
        assert page.console_errors == []

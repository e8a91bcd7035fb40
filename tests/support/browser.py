"""Browser tests: ControlPilot served by a real uvicorn on a free port, driven by
headless Chromium (the system's /usr/bin/chromium) through Playwright.

    from support.browser import browser_page, live_controlpilot, login

    def test_something(ctx, output_dir):
        with live_controlpilot(ctx) as server, browser_page() as page:
            login(page, server)
            page.get_by_role("link", name="Files").click()
            ...
            page.screenshot(path=output_dir / "files.png")
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from lorapilot.controlpilot.app import create_app
from lorapilot.stack.context import Context
from lorapilot.stack.workspace.secrets import read_secrets, set_secret

from .workspaces import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@dataclass
class LiveServer:
    """A running ControlPilot: its base URL and the password that logs in."""

    url: str
    password: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def app(self):
        return self.server.config.app


def require_browser() -> None:
    """Skip (with the reason) where Chromium, Playwright or the built web UI is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    from lorapilot.controlpilot.webapp import STATIC_DIR, web_built

    if not web_built():
        pytest.skip(f"the web UI is not built in {STATIC_DIR}: run `npm ci && npm run build` in controlpilot/web")


@contextlib.contextmanager
def live_controlpilot(ctx: Context, password: str | None = None, bind_host: str = "0.0.0.0") -> Iterator[LiveServer]:
    """Serve ``ctx``'s ControlPilot with uvicorn in a thread on a free loopback port.

    The app is created as if bound to ``bind_host`` (default: a network address,
    so login is required); it listens on 127.0.0.1 only. The workspace's
    CONTROLPILOT_PASSWORD is set to ``password`` (or a random one).
    """
    password = (
        password or read_secrets(ctx.workspace.secrets_file).get("CONTROLPILOT_PASSWORD") or secrets.token_urlsafe(12)
    )
    ctx.workspace.config.mkdir(parents=True, exist_ok=True)
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", password)
    port = free_port()
    app = create_app(ctx, bind_host=bind_host)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"controlpilot-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"ControlPilot did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", password=password, server=server, thread=thread)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextlib.contextmanager
def browser_page(viewport: dict | None = None) -> Iterator:
    """A Playwright ``Page`` in a fresh headless Chromium (closed afterwards).

    Console errors of the page are collected in ``page.console_errors``.
    """
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.console_errors = []
            page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
            yield page
        finally:
            browser.close()


def login(page, server: LiveServer, path: str = "/") -> None:
    """Open ``path`` and log in through the login form; returns once the frame shows."""
    page.goto(server.url + path)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Log in").click()
    page.locator(".topbar").wait_for()

"""Headless Chromium: the Copilot drawer on every page, its clear states, token field, streaming, history."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from support.browser import PHONE, browser_page, live_controlpilot, login
from support.copilot_sidecar import running_sidecar
from support.workspaces import make_workspace

pytestmark = pytest.mark.browser

TOKEN = "github_pat_11BROWSERTOKEN0123456789"
NO_ENV_TOKENS = {"COPILOT_GITHUB_TOKEN": "", "GH_TOKEN": "", "GITHUB_TOKEN": ""}


def _state(page) -> str:
    return page.get_by_test_id("copilot-state").get_attribute("data-state")


def test_drawer_states_token_streaming_and_history(tmp_path, output_dir):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "copilot"})
    (ctx.workspace.root / "datasets" / "cats").mkdir(parents=True)
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/")
        page.get_by_role("button", name="Copilot", exact=True).click()
        drawer = page.get_by_role("dialog", name="Copilot")
        notice = drawer.get_by_test_id("copilot-state")
        notice.wait_for()
        # 1. No sidecar: said plainly, with the way out; sending is off.
        assert _state(page) == "sidecar_not_running"
        assert "lorapilot start copilot" in notice.inner_text()
        assert drawer.get_by_role("button", name="Start the sidecar").is_visible()
        assert drawer.get_by_role("button", name="Send").is_disabled()
        page.screenshot(path=output_dir / "1-not-running.png")

        with running_sidecar(ctx, env=NO_ENV_TOKENS):
            # 2. Sidecar up, no token: the settings field opens by itself.
            drawer.get_by_role("button", name="Check again").click()
            page.wait_for_function("document.querySelector('[data-testid=copilot-state]').dataset.state === 'no_token'")
            token_field = drawer.get_by_label("GitHub token")
            token_field.fill(TOKEN)
            drawer.get_by_role("button", name="Save token").click()
            page.wait_for_function("document.querySelector('[data-testid=copilot-state]').dataset.state === 'ready'")
            assert "A token is stored" in drawer.get_by_test_id("copilot-token-state").inner_text()
            assert TOKEN not in page.content()
            assert token_field.input_value() == ""
            page.screenshot(path=output_dir / "2-ready.png")

            # 3. A message streams in: the first line shows while the CLI still runs.
            drawer.get_by_text("Options").click()
            folder = drawer.get_by_label("Working folder (inside the workspace)")
            assert "default: outputs" in folder.get_attribute("placeholder")
            folder.fill("datasets/cats")
            drawer.get_by_label("Message Copilot").fill(
                "fake: stdout hello from copilot\nfake: sleep 2\nfake: stdout second line"
            )
            drawer.get_by_role("button", name="Send").click()
            message = drawer.get_by_test_id("copilot-message").last
            message.locator(".copilot-answer", has_text="hello from copilot").wait_for()
            assert message.get_attribute("data-status") == "running"
            assert drawer.get_by_role("button", name="Stop").is_visible()
            page.screenshot(path=output_dir / "3-streaming.png")
            page.wait_for_function(
                "[...document.querySelectorAll('[data-testid=copilot-message]')].pop().dataset.status === 'ok'"
            )
            answer = message.locator(".copilot-answer").inner_text()
            assert "hello from copilot" in answer and "second line" in answer
            assert "/datasets/cats" in message.inner_text()

            # 4. An escape is refused with the server's words.
            drawer.get_by_label("Working folder (inside the workspace)").fill("../..")
            drawer.get_by_label("Message Copilot").fill("look outside")
            drawer.get_by_role("button", name="Send").click()
            drawer.locator(".card-error", has_text="outside").wait_for()

            # A run that fails shows the CLI's own words without a click.
            drawer.get_by_label("Working folder (inside the workspace)").fill("")
            drawer.get_by_label("Message Copilot").fill(
                "fake: stderr Error: No authentication information found.\nfake: exit 1"
            )
            drawer.get_by_role("button", name="Send").click()
            page.wait_for_function(
                "[...document.querySelectorAll('[data-testid=copilot-message]')].pop().dataset.status === 'error'"
            )
            failed = drawer.get_by_test_id("copilot-message").last
            assert failed.locator(".copilot-stderr pre", has_text="No authentication information found").is_visible()
            assert "exit 1" in failed.inner_text()

            # 5. The drawer follows the user to another page, and the conversation survives a reload.
            page.goto(server.url + "/no-such-page")
            drawer.wait_for()
            drawer.get_by_text("hello from copilot").first.wait_for()
            drawer.get_by_role("button", name="History").click()
            conversations = drawer.get_by_role("region", name="Conversations")
            conversations.get_by_text("fake: stdout hello from copilot").wait_for()
            drawer.get_by_role("button", name="New conversation").click()
            expect(drawer.get_by_test_id("copilot-message")).to_have_count(0)
            drawer.get_by_role("button", name="History").click()
            conversations.get_by_role("button").first.click()
            drawer.locator(".copilot-answer", has_text="second line").wait_for()
            page.screenshot(path=output_dir / "5-history.png")

            page.keyboard.press("Escape")
            assert not drawer.is_visible()
        assert page.console_errors == [] or all("400" in e for e in page.console_errors), page.console_errors


def test_drawer_says_the_cli_is_not_installed(tmp_path, output_dir):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "copilot"})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {**NO_ENV_TOKENS, "PATH": f"{empty}:/usr/bin:/bin"}
    with live_controlpilot(ctx) as server, browser_page() as page:
        with running_sidecar(ctx, bin_dir=empty, fake=False, env=env):
            login(page, server, "/")
            page.get_by_role("button", name="Copilot", exact=True).click()
            drawer = page.get_by_role("dialog", name="Copilot")
            page.wait_for_function(
                "document.querySelector('[data-testid=copilot-state]')?.dataset.state === 'cli_not_installed'"
            )
            notice = drawer.get_by_test_id("copilot-state").inner_text()
            assert "not installed" in notice and "npm install -g @github/copilot@1.0.102" in notice
            assert drawer.get_by_role("button", name="Send").is_disabled()
            page.screenshot(path=output_dir / "cli-not-installed.png")


def test_drawer_at_phone_width(tmp_path, output_dir):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "copilot"})
    with live_controlpilot(ctx) as server, browser_page(viewport=PHONE) as page:
        with running_sidecar(ctx, env={**NO_ENV_TOKENS, "GH_TOKEN": "gho_phone"}):
            login(page, server)
            page.get_by_role("button", name="Copilot", exact=True).click()
            page.wait_for_function("document.querySelector('[data-testid=copilot-state]')?.dataset.state === 'ready'")
            drawer = page.get_by_role("dialog", name="Copilot")
            box = drawer.bounding_box()
            assert box["width"] <= PHONE["width"]
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            drawer.get_by_label("Message Copilot").fill("hi from a phone")
            drawer.get_by_role("button", name="Send").click()
            page.wait_for_function(
                "[...document.querySelectorAll('[data-testid=copilot-message]')].pop()?.dataset.status === 'ok'"
            )
            page.screenshot(path=output_dir / "phone.png")

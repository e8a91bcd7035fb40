"""Headless Chromium: deleting Copilot history in the drawer goes to the trash, with undo, restore and empty."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from support.api import make_client
from support.browser import browser_page, live_controlpilot, login
from support.copilot_sidecar import running_sidecar
from support.workspaces import make_workspace

pytestmark = pytest.mark.browser

ENV = {"COPILOT_GITHUB_TOKEN": "", "GITHUB_TOKEN": "", "GH_TOKEN": "gho_browser_trash"}


def _ask(client, prompt: str, conversation_id: str | None = None) -> dict:
    resp = client.post("/api/copilot/chat", json={"prompt": prompt, "conversation_id": conversation_id})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_delete_undo_restore_clear_and_empty_in_the_drawer(tmp_path, output_dir):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "copilot"})
    api = make_client(ctx)
    with live_controlpilot(ctx) as server, running_sidecar(ctx, env=ENV), browser_page() as page:
        first = _ask(api, "first question")
        _ask(api, "second question", first["conversation_id"])
        _ask(api, "another conversation")

        login(page, server, "/")
        page.get_by_role("button", name="Copilot", exact=True).click()
        drawer = page.get_by_role("dialog", name="Copilot")
        drawer.get_by_role("button", name="History").click()
        drawer.get_by_role("region", name="Conversations").get_by_text("first question").click()
        messages = drawer.get_by_test_id("copilot-message")
        expect(messages).to_have_count(2)

        # Delete one message, then undo it.
        messages.first.get_by_role("button", name="Delete this message").click()
        expect(messages).to_have_count(1)
        undo = drawer.get_by_test_id("copilot-undo")
        expect(undo).to_contain_text("Moved 1 message to the trash")
        page.screenshot(path=output_dir / "1-deleted-with-undo.png")
        undo.get_by_role("button", name="Undo").click()
        expect(messages).to_have_count(2)
        expect(undo).to_have_count(0)

        # Delete it again; it waits in the Trash view and comes back with Restore.
        messages.filter(has_text="first question").get_by_role("button", name="Delete this message").click()
        expect(messages).to_have_count(1)
        drawer.get_by_role("button", name="Trash").click()
        trash = drawer.get_by_role("region", name="Trash")
        item = trash.get_by_test_id("copilot-trash-item")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("first question")
        page.screenshot(path=output_dir / "2-trash.png")
        item.get_by_role("button", name="Restore").click()
        expect(trash.get_by_text("The trash is empty.")).to_be_visible()
        drawer.get_by_role("button", name="Chat").click()
        expect(messages).to_have_count(2)

        # Clear the whole history, then undo the clear as one.
        drawer.get_by_role("button", name="History").click()
        conversations = drawer.get_by_role("region", name="Conversations")
        conversations.get_by_role("button", name="Clear history").click()
        expect(conversations.get_by_text("No conversations yet.")).to_be_visible()
        expect(undo).to_contain_text("Moved 3 messages to the trash")
        assert api.get("/api/copilot/history").json()["entries"] == []
        undo.get_by_role("button", name="Undo").click()
        expect(conversations.get_by_text("another conversation")).to_be_visible()
        expect(conversations.get_by_text("first question")).to_be_visible()
        assert len(api.get("/api/copilot/history").json()["entries"]) == 3

        # Clear again and empty the trash: gone for good.
        conversations.get_by_role("button", name="Clear history").click()
        expect(conversations.get_by_text("No conversations yet.")).to_be_visible()
        drawer.get_by_role("button", name="Trash").click()
        expect(item).to_have_count(3)
        page.on("dialog", lambda dialog: dialog.accept())
        trash.get_by_role("button", name="Empty trash").click()
        expect(trash.get_by_text("The trash is empty.")).to_be_visible()
        page.screenshot(path=output_dir / "3-emptied.png")
        assert api.get("/api/copilot/trash").json()["entries"] == []
        assert api.get("/api/copilot/history").json()["entries"] == []
        assert page.console_errors == [], page.console_errors

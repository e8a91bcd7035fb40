"""Headless Chromium: the file browser uploads, creates, renames, deletes to trash and restores."""

from __future__ import annotations

import time

import pytest

from support.browser import PHONE, browser_page, live_controlpilot, login
from support.workspaces import make_workspace

pytestmark = pytest.mark.browser


def test_file_browser_round_trip(ctx, tmp_path, output_dir):
    root = ctx.workspace.root
    (root / "datasets" / "cats").mkdir(parents=True)
    (root / "datasets" / "cats" / "1.txt").write_text("a cat")
    local = tmp_path / "upload.txt"
    local.write_text("uploaded from the browser")
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/files")
        page.get_by_role("button", name="datasets/").click()
        page.get_by_role("button", name="cats/").click()
        page.get_by_test_id("file-1.txt").wait_for()
        assert "path=datasets%2Fcats" in page.url

        page.get_by_label("Files to upload").set_input_files(str(local))
        page.get_by_test_id("file-upload.txt").wait_for()
        assert (root / "datasets" / "cats" / "upload.txt").read_text() == "uploaded from the browser"

        page.get_by_role("button", name="New folder").click()
        page.get_by_label("New folder name").fill("kittens")
        page.get_by_role("button", name="Create").click()
        page.get_by_test_id("file-kittens").wait_for()
        assert (root / "datasets" / "cats" / "kittens").is_dir()

        page.get_by_test_id("file-1.txt").get_by_role("button", name="Rename").click()
        page.get_by_label("New name for 1.txt").fill("one.txt")
        page.get_by_label("New name for 1.txt").press("Enter")
        page.get_by_test_id("file-one.txt").wait_for()
        assert (root / "datasets" / "cats" / "one.txt").read_text() == "a cat"

        # A name that exists: the API's message is shown, nothing is overwritten.
        page.get_by_role("button", name="New folder").click()
        page.get_by_label("New folder name").fill("kittens")
        page.get_by_role("button", name="Create").click()
        assert "datasets/cats/kittens already exists" in page.get_by_role("alert").inner_text()

        page.get_by_test_id("file-one.txt").get_by_role("button", name="Delete").click()
        page.get_by_role("status").get_by_text("Moved one.txt to the trash.").wait_for()
        assert not (root / "datasets" / "cats" / "one.txt").exists()
        page.get_by_role("button", name="Trash").click()
        page.get_by_test_id("trash-one.txt").get_by_role("button", name="Restore").click()
        page.get_by_role("status").get_by_text("Restored one.txt.").wait_for()
        assert (root / "datasets" / "cats" / "one.txt").read_text() == "a cat"
        page.get_by_role("button", name="Back to files").click()
        page.get_by_test_id("file-one.txt").wait_for()

        # Emptying the trash is the only permanent delete: it asks first.
        page.get_by_test_id("file-kittens").get_by_role("button", name="Delete").click()
        page.get_by_role("status").get_by_text("Moved kittens to the trash.").wait_for()
        page.get_by_role("button", name="Trash").click()
        page.get_by_test_id("trash-kittens").wait_for()
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.get_by_role("button", name="Empty trash").click()
        page.get_by_test_id("trash-kittens").wait_for()
        assert any((root / ".trash").iterdir())
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Empty trash").click()
        page.get_by_text("The trash is empty.").wait_for()
        assert not any((root / ".trash").iterdir())
        page.get_by_role("button", name="Back to files").click()
        page.get_by_test_id("file-one.txt").wait_for()
        page.screenshot(path=output_dir / "files.png", full_page=True)

        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=output_dir / "files-phone.png", full_page=True)


def test_restoring_onto_a_taken_name_asks_where_to_put_it(ctx, output_dir):
    root = ctx.workspace.root
    (root / "datasets" / "cats").mkdir(parents=True)
    (root / "datasets" / "cats" / "1.txt").write_text("a cat")
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/files?path=datasets%2Fcats")
        page.get_by_test_id("file-1.txt").get_by_role("button", name="Delete").click()
        page.get_by_role("status").get_by_text("Moved 1.txt to the trash.").wait_for()
        (root / "datasets" / "cats" / "1.txt").write_text("a new cat")  # the name is taken again
        page.get_by_role("button", name="Trash").click()

        # A dialog blocks the page: it is answered in the handler, as it opens.
        restore = page.get_by_test_id("trash-1.txt").get_by_role("button", name="Restore")
        asked = []
        page.once("dialog", lambda d: (asked.append(d), d.dismiss()))
        restore.click()
        _until(page, lambda: asked)
        assert asked[0].type == "prompt" and "datasets/cats/1.txt exists" in asked[0].message
        assert asked[0].default_value == "datasets/cats/1 (restored).txt"
        assert (root / "datasets" / "cats" / "1.txt").read_text() == "a new cat"  # dismissed: nothing moved
        assert page.get_by_test_id("trash-1.txt").is_visible()

        page.once("dialog", lambda d: d.accept(d.default_value))
        restore.click()
        page.get_by_role("status").get_by_text("Restored 1.txt.").wait_for()
        assert (root / "datasets" / "cats" / "1 (restored).txt").read_text() == "a cat"
        assert (root / "datasets" / "cats" / "1.txt").read_text() == "a new cat"
        page.screenshot(path=output_dir / "restored-beside.png", full_page=True)


def _until(page, condition, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def test_an_upload_over_the_limit_shows_why_and_the_same_file_can_be_picked_again(tmp_path, output_dir):
    ctx = make_workspace(tmp_path / "ws", settings={"controlpilot": {"upload_limit_mb": 1}})
    (ctx.workspace.root / "datasets").mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (2 * 1024 * 1024))
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/files?path=datasets")
        picker = page.get_by_label("Files to upload")
        for _ in range(2):  # a refused file stays pickable (the input is reset)
            picker.set_input_files(str(big))
            alert = page.get_by_role("alert")
            alert.wait_for()
            assert alert.inner_text().startswith("big.bin is 2097152 bytes; the upload limit is 1048576 bytes")
            page.screenshot(path=output_dir / "upload-refused.png")
            alert.get_by_role("button", name="Dismiss").click()
            alert.wait_for(state="detached")
        assert list((ctx.workspace.root / "datasets").iterdir()) == []

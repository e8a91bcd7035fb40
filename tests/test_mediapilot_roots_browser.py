"""MediaPilot's roots panel in headless Chromium: list, add (scan with live progress), remove, bad input."""

from __future__ import annotations

import pytest

from lorapilot.tools.mediapilot.roots import add_root
from support import media_files as mf
from support.browser import browser_page, live_controlpilot, login
from support.media_lib import make_library

pytestmark = pytest.mark.browser


def test_roots_panel_add_scan_remove(tmp_path, output_dir):
    ctx, lib = make_library(tmp_path, media={"watch": False, "api_allowed_roots": [str(tmp_path)]})
    mf.png(ctx.workspace.outputs / "o.png")
    volume = tmp_path / "volume"
    volume.mkdir()
    add_root(lib, str(volume))  # a network volume that is not mounted any more
    volume.rmdir()
    lib.scan()
    lib.close()
    renders = tmp_path / "renders"
    for i in range(40):
        mf.png(renders / f"r{i:02d}.png")
    with live_controlpilot(ctx) as server, browser_page() as page:
        page.on("dialog", lambda dialog: dialog.accept())
        login(page, server, "/media")
        page.get_by_test_id("media-count").filter(has_text="1 item(s)").wait_for()
        page.get_by_role("button", name="Roots", exact=True).click()
        panel = page.get_by_label("Media roots")
        rows = panel.get_by_test_id("media-root")
        rows.filter(has_text="outputs").filter(has_text="1 file(s)").filter(has_text="reachable").wait_for()
        rows.filter(has_text=str(volume)).filter(has_text="unreachable").wait_for()
        assert rows.filter(has_text="outputs").get_by_role("button", name="Remove outputs").count() == 0

        field = panel.get_by_label("Folder to index")
        field.fill(str(tmp_path / "missing"))
        panel.get_by_role("button", name="Add root").click()
        panel.get_by_text(f"media root '{tmp_path / 'missing'}': no such folder").wait_for()

        field.fill(str(renders))
        panel.get_by_role("button", name="Add root").click()
        page.get_by_role("status").filter(has_text="scan done: 40 file(s)").wait_for()
        rows.filter(has_text=str(renders)).filter(has_text="40 file(s)").wait_for()
        assert f'"{renders}"' in ctx.workspace.settings_file.read_text()
        page.screenshot(path=output_dir / "roots.png")

        page.get_by_role("button", name="← Gallery").click()
        page.get_by_test_id("media-count").filter(has_text="41 item(s)").wait_for()
        page.get_by_role("button", name="Roots", exact=True).click()

        rows.filter(has_text=str(renders)).get_by_role("button", name=f"Remove {renders}").click()
        page.get_by_role("status").filter(has_text=f"removed {renders}: 40 file(s) left the index").wait_for()
        rows.filter(has_text=str(renders)).wait_for(state="detached")  # the list reloads after the note
        assert str(renders) not in ctx.workspace.settings_file.read_text()
        assert (renders / "r00.png").exists()
        page.get_by_role("button", name="← Gallery").click()
        page.get_by_test_id("media-count").filter(has_text="1 item(s)").wait_for()

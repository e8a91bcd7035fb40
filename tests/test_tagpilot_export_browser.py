"""TagPilot's Export tab in headless Chromium: the export is a task whose progress bar moves live (over the
event stream) while images are copied to an ``outputs/`` on another file system; Cancel keeps the previous
export; a second run finishes and shows where everything is."""

import os
import tomllib

import pytest

from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.export import ExportOptions, export_dataset, export_root
from support.browser import browser_page, live_controlpilot, login
from support.tagpilot import CopyGate, make_dataset_files, outputs_on_another_file_system, staging_folders

pytestmark = pytest.mark.browser


def test_export_shows_live_progress_and_cancel_keeps_the_previous_export(ctx, output_dir, monkeypatch):
    from playwright.sync_api import expect

    ds = datasets.create_dataset(ctx.workspace, "cats")
    make_dataset_files(ds.path, {f"{i}.png": f"ohwx, cat {i}" for i in range(6)})
    with outputs_on_another_file_system(ctx.workspace) as other_fs:
        export_dataset(ctx.workspace, ds, ExportOptions(repeats=5, trigger_word="ohwx"))
        root = export_root(ctx.workspace, ds)
        gate = CopyGate(monkeypatch)
        with live_controlpilot(ctx) as server, browser_page() as page:
            login(page, server, "/tagpilot/cats")
            page.get_by_role("tab", name="Export").click()
            tab = page.get_by_role("region", name="Export")
            tab.get_by_label("Repeats").fill("3")
            tab.get_by_label("Trigger word").fill("ohwx")
            tab.get_by_role("button", name="Export", exact=True).click()

            status = tab.get_by_role("status", name="export cats: running")
            gate.allow(2)  # the first image and its caption: 1 of 9 steps done, the second image under way
            status.get_by_text("1 / 9 kohya: 1.png").wait_for()
            expect(status.get_by_label("progress")).to_have_attribute("value", "11")
            expect(tab.get_by_role("button", name="Export", exact=True)).to_be_disabled()
            page.screenshot(path=output_dir / "export-running.png", full_page=True)
            gate.allow(4)  # two more images: the same bar moves on, no reload
            status.get_by_text("3 / 9 kohya: 3.png").wait_for()
            assert len(os.listdir(root / "kohya" / "img" / "5_ohwx")) == 12  # the old export is still whole

            status.get_by_role("button", name="Cancel").click()
            gate.open()
            tab.get_by_role("status", name="export cats: cancelled").wait_for()
            tab.get_by_text("Cancelled: the previous export is unchanged.").wait_for()
            assert sorted(os.listdir(root / "kohya" / "img")) == ["5_ohwx"]
            assert staging_folders(root) == []
            page.screenshot(path=output_dir / "export-cancelled.png", full_page=True)

            tab.get_by_role("button", name="Export", exact=True).click()
            tab.get_by_role("status", name="export cats: done").get_by_text("9 / 9 done").wait_for()
            result = tab.get_by_label("Export result")
            image_dir = root / "kohya" / "img" / "3_ohwx"
            result.get_by_text(str(image_dir), exact=True).wait_for()
            expect(result.get_by_role("link", name="Train this →")).to_be_visible()
            assert os.stat(image_dir / "0.png").st_dev == os.stat(other_fs).st_dev  # copied to the other disk
            config = tomllib.loads((root / "kohya" / "dataset.toml").read_text())
            assert config["datasets"][0]["subsets"][0]["num_repeats"] == 3
            assert staging_folders(root) == []
            page.screenshot(path=output_dir / "export-done.png", full_page=True)
            assert page.console_errors == []

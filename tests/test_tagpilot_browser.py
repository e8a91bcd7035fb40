"""TagPilot in headless Chromium: bulk add-tag with a diff preview, then undo; keyboard editing; stale-edit conflict."""

import json

import pytest

from lorapilot.kit.trash import Trash
from lorapilot.tools.tagpilot import dataset as datasets
from support.browser import PHONE, browser_page, live_controlpilot, login
from support.tagpilot import make_dataset_files

pytestmark = pytest.mark.browser


@pytest.fixture
def folder(ctx):
    ds = datasets.create_dataset(ctx.workspace, "cats")
    make_dataset_files(ds.path, {"a.png": "cat, solo", "b.png": "cat, hat", "c.png": "dog"})
    return ds.path


def test_bulk_add_tag_with_preview_then_undo(ctx, folder, output_dir):
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot")
        page.get_by_role("link", name="cats").click()
        page.get_by_test_id("caption-a.png").wait_for()
        # the tag sidebar filters: only images with "cat"
        page.get_by_role("complementary", name="Tag frequency").get_by_role("button", name="cat", exact=True).click()
        page.get_by_text("2 of 3").wait_for()

        bulk = page.get_by_role("region", name="Bulk operations")
        bulk.get_by_label("Operation").select_option("add")
        bulk.get_by_label("Tag", exact=True).fill("ohwx")
        bulk.get_by_role("button", name="Preview").click()
        preview = bulk.get_by_label("Preview")
        preview.get_by_text("2 of 2 captions change").wait_for()
        assert preview.locator("ins").all_inner_texts() == ["ohwx, cat, solo", "ohwx, cat, hat"]
        assert (folder / "a.txt").read_text() == "cat, solo"  # a preview writes nothing
        page.screenshot(path=output_dir / "preview.png", full_page=True)

        bulk.get_by_role("button", name="Apply 2 changes").click()
        page.get_by_test_id("caption-a.png").get_by_text("ohwx, cat, solo").wait_for()
        assert (folder / "a.txt").read_text() == "ohwx, cat, solo"
        assert (folder / "b.txt").read_text() == "ohwx, cat, hat"
        assert (folder / "c.txt").read_text() == "dog"

        page.get_by_role("button", name="Undo").click()
        page.get_by_test_id("caption-a.png").get_by_text("cat, solo", exact=True).wait_for()
        assert (folder / "a.txt").read_text() == "cat, solo"
        assert (folder / "b.txt").read_text() == "cat, hat"
        page.get_by_role("button", name="Redo").wait_for()
        assert page.get_by_role("button", name="Redo").is_enabled()
        page.screenshot(path=output_dir / "after-undo.png", full_page=True)
        assert page.console_errors == []

        # "Train this" refreshes the handoff and opens TrainPilot's new-training flow on this dataset
        page.get_by_role("link", name="Train this").click()
        page.wait_for_url("**/trainpilot/new?dataset=cats")
        page.get_by_role("heading", name="New training").wait_for()
        handoff = json.loads((folder / ".tagpilot" / "handoff.json").read_text())
        assert (handoff["dataset"], handoff["num_images"], handoff["captioned"]) == ("cats", 3, 3)


def test_keyboard_navigation_edit_and_stale_conflict(ctx, folder, output_dir):
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/cats")
        page.locator('[data-image="a.png"]').click()
        editor = page.get_by_role("region", name="Caption of a.png")
        editor.wait_for()
        page.locator('[data-image="a.png"]').focus()
        page.keyboard.press("ArrowRight")
        page.get_by_role("region", name="Caption of b.png").wait_for()
        page.keyboard.press("Space")  # toggles the selection of the focused image
        assert page.locator('[data-image="b.png"]').get_attribute("aria-selected") == "true"

        editor = page.get_by_role("region", name="Caption of b.png")
        text = editor.get_by_label("Caption text")
        (folder / "b.txt").write_text("changed on disk")  # someone else edits meanwhile
        text.fill("cat, hat, red")
        editor.get_by_role("button", name="Save").click()
        editor.get_by_text("Changed elsewhere").wait_for()
        assert (folder / "b.txt").read_text() == "changed on disk"  # nothing silently overwritten
        editor.get_by_role("button", name="Keep mine (overwrite)").click()
        editor.get_by_role("button", name="Save").click()
        page.get_by_test_id("caption-b.png").get_by_text("cat, hat, red").wait_for()
        assert (folder / "b.txt").read_text() == "cat, hat, red"
        page.screenshot(path=output_dir / "editor.png", full_page=True)


def test_checks_tab_and_phone_layout(ctx, folder, output_dir):
    (folder / "a-copy.png").write_bytes((folder / "a.png").read_bytes())
    with live_controlpilot(ctx) as server, browser_page(PHONE) as page:
        login(page, server, "/tagpilot/cats")
        page.get_by_role("tab", name="Checks").click()
        page.get_by_role("button", name="Run checks").click()
        page.get_by_text("Exact duplicates: 1").wait_for()
        page.get_by_role("button", name="Exclude").first.click()
        page.get_by_test_id("dataset-stats").get_by_text("3 images").wait_for()
        assert (folder / ".tagpilot" / "excluded" / "a.png").exists() or (
            folder / ".tagpilot" / "excluded" / "a-copy.png"
        ).exists()
        page.screenshot(path=output_dir / "checks-phone.png", full_page=True)


def test_wd14_caption_job_shows_live_progress_and_result(ctx, folder, output_dir):
    from playwright.sync_api import expect

    from support.tagpilot import build_wd14_model

    build_wd14_model(ctx.workspace.models / "wd14")
    (folder / "c.txt").unlink()
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/cats")
        page.get_by_role("tab", name="Auto-caption").click()
        job = page.get_by_role("region", name="Auto-caption")
        # the VLM defaults arrive from /api/tagpilot/config; starting after that must still work
        job.get_by_label("Captioner").select_option("vlm")
        expect(job.get_by_label("Endpoint")).to_have_value("http://127.0.0.1:8000/v1")
        job.get_by_label("Captioner").select_option("wd14")
        job.get_by_label("Model folder").fill("models/wd14")
        job.get_by_role("button", name="Start captioning").click()
        job.get_by_role("status", name="caption cats with wd14: done").wait_for()
        job.get_by_test_id("caption-report").get_by_text("1 written, 0 unchanged, 2 skipped, 0 errors").wait_for()
        from lorapilot.tools.tagpilot.wd14 import WD14Tagger

        expected = WD14Tagger(ctx.workspace.models / "wd14").caption(folder / "c.png").as_text()
        assert (folder / "c.txt").read_text() == expected and "^_^" in expected
        page.get_by_role("button", name="Undo").wait_for()
        page.screenshot(path=output_dir / "caption-job.png", full_page=True)


def test_rename_delete_restore_stats_and_include_an_excluded_image(ctx, folder, output_dir):
    datasets.exclude_images(datasets.open_dataset(ctx.workspace, "cats"), ["c.png"])
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot")
        card = page.get_by_role("article", name="Dataset cats")
        card.get_by_role("button", name="Rename…").click()
        card.get_by_label("New name for cats").fill("kittens")
        card.get_by_role("button", name="Rename").click()
        page.get_by_role("link", name="kittens").wait_for()
        assert (ctx.workspace.datasets / "kittens" / "a.png").exists() and not folder.exists()

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("article", name="Dataset kittens").get_by_role("button", name="Delete").click()
        page.get_by_text("Moved datasets/kittens to the trash.").wait_for()
        assert not (ctx.workspace.datasets / "kittens").exists()
        page.get_by_role("button", name="Restore").click()
        page.get_by_role("link", name="kittens").wait_for()
        assert (ctx.workspace.datasets / "kittens" / "a.txt").read_text() == "cat, solo"

        page.get_by_role("link", name="kittens").click()
        page.get_by_test_id("dataset-stats").click()  # opens the figures
        stats = page.get_by_role("group", name="Dataset stats")
        stats.get_by_text("1:1: 2").wait_for()  # aspect ratios of the two 64×64 images left
        assert "64–64 px" in stats.inner_text() and "1 excluded" in stats.inner_text()

        page.get_by_role("tab", name="Checks").click()
        excluded = page.get_by_role("list", name="Excluded images")
        excluded.get_by_role("button", name="Include").click()
        page.get_by_test_id("dataset-stats").get_by_text("3 images").wait_for()
        assert (ctx.workspace.datasets / "kittens" / "c.png").exists()
        assert (ctx.workspace.datasets / "kittens" / "c.txt").read_text() == "dog"
        page.screenshot(path=output_dir / "rename-restore-include.png", full_page=True)
        assert page.console_errors == []


def test_import_a_workspace_folder_and_upload_files_in_any_order(ctx, folder, output_dir, tmp_path):
    source = ctx.workspace.root / "uploads" / "shoot"
    make_dataset_files(source, {"d.png": "bird", "e.png": None})
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    upload_dir = tmp_path / "picked"
    make_dataset_files(upload_dir, {"f.webp": "fish"})
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/cats")
        page.get_by_role("button", name="Import folder…").click()
        page.get_by_label("Folder to import").fill("uploads/shoot")
        page.get_by_role("button", name="Import", exact=True).click()
        report = page.get_by_test_id("import-report")
        report.get_by_text("3 images and 1 captions imported").wait_for()
        report.get_by_text("broken.png: cannot read image").wait_for()  # reported, not fatal
        page.get_by_test_id("caption-d.png").get_by_text("bird").wait_for()
        page.get_by_role("option", name="broken.png").get_by_text("undecodable").wait_for()

        # the caption comes first, as the file picker may list it: the image still pairs with it
        files = page.locator("label", has_text="Add images").locator("input[type=file]")
        files.set_input_files([upload_dir / "f.txt", upload_dir / "f.webp"])
        page.get_by_test_id("caption-f.webp").get_by_text("fish").wait_for()
        assert (folder / "f.txt").read_text() == "fish" and not (folder / "f-1.webp").exists()
        page.screenshot(path=output_dir / "import.png", full_page=True)
        assert page.console_errors == []


def test_bulk_operation_on_a_multi_selection(ctx, folder, output_dir):
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/cats")
        page.get_by_label("select a.png").check()
        page.locator('[data-image="c.png"]').click(modifiers=["Control"])  # Ctrl-click adds to the selection
        page.get_by_text("3 of 3 · 2 selected").wait_for()
        bulk = page.get_by_role("region", name="Bulk operations")
        bulk.get_by_text("on 2 selected images").wait_for()
        bulk.get_by_label("Operation").select_option("add")
        bulk.get_by_label("Tag", exact=True).fill("picked")
        bulk.get_by_label("Position").select_option("-1")
        bulk.get_by_role("button", name="Preview").click()
        preview = bulk.get_by_label("Preview")
        preview.get_by_text("2 of 2 captions change").wait_for()
        assert preview.locator("ins").all_inner_texts() == ["cat, solo, picked", "dog, picked"]
        bulk.get_by_role("button", name="Apply 2 changes").click()
        page.get_by_test_id("caption-c.png").get_by_text("dog, picked").wait_for()
        assert [(folder / f"{n}.txt").read_text() for n in "abc"] == ["cat, solo, picked", "cat, hat", "dog, picked"]
        page.locator('[data-image="a.png"]').focus()
        page.keyboard.press("Escape")  # in the grid: clears the selection, so the panel targets all images again
        bulk.get_by_text("on all images").wait_for()
        page.screenshot(path=output_dir / "multi-select.png", full_page=True)

        page.get_by_label("select b.png").check()  # the selection can leave the dataset too
        page.get_by_role("button", name="Trash", exact=True).click()
        page.get_by_text("2 of 2").wait_for()
        assert not (folder / "b.png").exists() and not (folder / "b.txt").exists()
        assert {i.name for i in Trash(ctx.workspace.root).list()} == {"b.png", "b.txt"}  # restorable
        page.get_by_label("select a.png").check()
        page.get_by_role("button", name="Exclude", exact=True).click()
        page.get_by_text("1 of 1").wait_for()
        assert (folder / ".tagpilot" / "excluded" / "a.txt").read_text() == "cat, solo, picked"


def test_show_more_pages_past_the_first_thousand_thumbnails(ctx):
    from PIL import Image

    ds = datasets.create_dataset(ctx.workspace, "big")
    tiny = Image.new("RGB", (8, 8), (90, 90, 90))
    for i in range(1003):
        tiny.save(ds.path / f"i{i:04d}.png")
    (ds.path / "i1002.txt").write_text("the last one")
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/big")
        page.get_by_text("1003 of 1003").wait_for()
        tiles = page.get_by_role("listbox", name="Images").get_by_role("option")
        assert tiles.count() == 1000
        page.get_by_role("button", name="Show more (3 not shown)").click()
        page.get_by_test_id("caption-i1002.png").get_by_text("the last one").wait_for()
        assert tiles.count() == 1003 and page.get_by_role("button", name="Show more").count() == 0

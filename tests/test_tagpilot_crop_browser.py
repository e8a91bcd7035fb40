"""The crop editor in headless Chromium: pick 1:1, click a focus point, save, see the new thumbnail;
drag the box, reset to the original; crop the selected images to one aspect as a task."""

import pytest
from PIL import Image
from playwright.sync_api import expect

from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.crop import crop_state, originals_dir
from support.browser import browser_page, live_controlpilot, login

pytestmark = pytest.mark.browser

RED, GREEN, BLUE = (220, 20, 20), (20, 200, 20), (20, 20, 220)


def stripes(path, width=600, height=400):
    """Thirds of red, green and blue from left to right: which colours a crop holds shows where it was cut."""
    img = Image.new("RGB", (width, height), RED)
    img.paste(GREEN, (width // 3, 0, 2 * width // 3, height))
    img.paste(BLUE, (2 * width // 3, 0, width, height))
    img.save(path)


@pytest.fixture
def ds(ctx):
    ds = datasets.create_dataset(ctx.workspace, "crops")
    for name in ("a.png", "b.png", "c.png"):
        stripes(ds.path / name)
        (ds.path / name).with_suffix(".txt").write_text("stripes")
    return ds


def test_crop_with_a_focus_point_then_drag_and_reset(ctx, ds, output_dir):
    original = (ds.path / "a.png").read_bytes()
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/crops")
        page.locator('[data-image="a.png"]').click()
        editor = page.get_by_role("region", name="Caption of a.png")
        editor.get_by_role("button", name="Crop…").click()
        crop = editor.get_by_role("group", name="Crop a.png")
        crop.get_by_test_id("crop-size").get_by_text("600×400 of 600×400").wait_for()
        page.wait_for_function("document.querySelector('.tp-crop-stage img').naturalWidth === 600")
        crop.get_by_label("Aspect").select_option("1:1")
        crop.get_by_test_id("crop-size").get_by_text("400×400 of 600×400").wait_for()

        stage = crop.get_by_test_id("crop-stage")
        box = stage.bounding_box()
        stage.click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.5})  # the focus: the red third
        page.screenshot(path=output_dir / "crop-editor-focus.png", full_page=True)
        crop.get_by_role("button", name="Save crop").click()
        crop.get_by_text("cropped", exact=True).wait_for()
        # the grid's thumbnail is the new square image (a new URL, not the browser's cached one)
        page.wait_for_function(
            "() => { const i = document.querySelector('[data-image=\"a.png\"] img');"
            " return i && i.complete && i.naturalWidth === i.naturalHeight && i.naturalWidth > 0; }"
        )
        assert page.locator('[data-image="a.png"]').get_by_text("a.png · 400×400").is_visible()
        page.screenshot(path=output_dir / "crop-saved.png", full_page=True)

        state = crop_state(ds, "a.png")
        assert state.cropped and state.aspect == "1:1" and state.box == (0, 0, 400, 400)
        with Image.open(ds.path / "a.png") as img:
            assert img.size == (400, 400) and img.getpixel((10, 200)) == RED and img.getpixel((390, 200)) == GREEN
        assert (originals_dir(ds) / "a.png").read_bytes() == original

        # drag the box to the right edge: the crop is cut from the original again (green + blue)
        handle_box = crop.get_by_test_id("crop-box").bounding_box()
        start = (handle_box["x"] + handle_box["width"] / 2, handle_box["y"] + handle_box["height"] / 2)
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(start[0] + box["width"] * 0.2, start[1], steps=5)
        page.mouse.move(start[0] + box["width"] * 0.5, start[1], steps=5)
        page.mouse.up()
        assert crop.get_by_test_id("crop-box").get_attribute("style").startswith("left: 33.3333%; top: 0%;")
        with page.expect_response(lambda r: r.url.endswith("/a.png/crop") and r.request.method == "PUT") as saved:
            crop.get_by_role("button", name="Save crop").click()
        assert saved.value.ok
        expect(crop.get_by_role("button", name="Save crop")).to_be_disabled()  # saved: nothing left to save
        assert crop_state(ds, "a.png").box == (200, 0, 400, 400)
        with Image.open(ds.path / "a.png") as img:
            assert img.getpixel((10, 200)) == GREEN and img.getpixel((390, 200)) == BLUE
        page.screenshot(path=output_dir / "crop-dragged.png", full_page=True)

        # the corner handle resizes, keeping 1:1 and the box's top-left corner
        handle = crop.locator(".tp-crop-handle").bounding_box()
        corner = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        page.mouse.move(*corner)
        page.mouse.down()
        page.mouse.move(corner[0] - box["width"] * 0.25, corner[1] - box["height"] * 0.25, steps=8)
        page.mouse.up()
        with page.expect_response(lambda r: r.url.endswith("/a.png/crop") and r.request.method == "PUT") as saved:
            crop.get_by_role("button", name="Save crop").click()
        assert saved.value.ok
        x, y, w, h = crop_state(ds, "a.png").box
        assert (x, y) == (200, 0) and w == h and 200 < w < 400
        with Image.open(ds.path / "a.png") as img:
            assert img.size == (w, h)

        crop.get_by_role("button", name="Reset to original").click()
        crop.get_by_test_id("crop-size").get_by_text("600×400 of 600×400").wait_for()
        page.locator('[data-image="a.png"]').get_by_text("a.png · 600×400").wait_for()
        assert (ds.path / "a.png").read_bytes() == original
        assert page.console_errors == []


def test_crop_the_selected_images_as_a_task(ctx, ds, output_dir):
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/crops")
        page.get_by_label("select b.png").check()
        page.get_by_label("select c.png").check()
        bulk = page.get_by_role("region", name="Crop selected images")
        bulk.get_by_label("Bulk crop aspect").select_option("16:9")
        bulk.get_by_role("button", name="Crop selected").click()
        bulk.get_by_text("2 cropped to 16:9").wait_for()
        page.locator('[data-image="b.png"]').get_by_text("b.png · 600×338").wait_for()
        page.locator('[data-image="c.png"]').get_by_text("c.png · 600×338").wait_for()
        page.screenshot(path=output_dir / "bulk-crop.png", full_page=True)
        assert crop_state(ds, "b.png").box == (0, 31, 600, 338)
        assert not crop_state(ds, "a.png").cropped
        assert page.console_errors == []

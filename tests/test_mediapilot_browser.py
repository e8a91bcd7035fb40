"""MediaPilot in headless Chromium: search by lora:, open the lightbox, trash an image, restore it."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import expect

from support import media_files as mf
from support.browser import PHONE, browser_page, live_controlpilot, login
from support.media_lib import make_library

pytestmark = pytest.mark.browser

A1111 = (
    "a lighthouse in a storm, <lora:storm_style_v2:0.7>\nNegative prompt: blurry\n"
    "Steps: 24, Sampler: DPM++ 2M, CFG scale: 6, Seed: 18446744073709551615, Size: 96x64, Model: dreamshaper_8"
)


def _fill(ctx):
    out = ctx.workspace.outputs
    mf.png(out / "a1111" / "lighthouse.png", size=(96, 64), texts={"parameters": A1111})
    for i in range(30):
        mf.png(
            out / "comfy" / f"ComfyUI_{i:05d}_.png",
            texts={
                "prompt": json.dumps(
                    {
                        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "flux1-dev.safetensors"}},
                        "2": {
                            "class_type": "CLIPTextEncode",
                            "inputs": {"text": f"a cat number {i}", "clip": ["1", 1]},
                        },
                        "3": {
                            "class_type": "KSampler",
                            "inputs": {
                                "seed": i,
                                "steps": 20,
                                "cfg": 7,
                                "sampler_name": "euler",
                                "scheduler": "normal",
                                "model": ["1", 0],
                                "positive": ["2", 0],
                                "negative": ["2", 0],
                                "latent_image": ["4", 0],
                            },
                        },
                        "4": {
                            "class_type": "EmptyLatentImage",
                            "inputs": {"width": 512, "height": 512, "batch_size": 1},
                        },
                        "5": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "ComfyUI"}},
                    }
                )
            },
        )


def test_search_lightbox_trash_restore(tmp_path, output_dir):
    ctx, lib = make_library(tmp_path, media={"watch": False})
    _fill(ctx)
    lib.scan()
    lib.close()
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/mediapilot")
        page.get_by_test_id("media-count").filter(has_text="31 item(s)").wait_for()

        search = page.get_by_label("Search media")
        search.fill("lora:sto")
        page.get_by_role("option", name="storm_style_v2").click()  # autocomplete of LoRA names
        assert search.input_value() == "lora:storm_style_v2 "
        search.press("Enter")
        page.get_by_test_id("media-count").filter(has_text="1 item(s)").wait_for()
        assert "q=lora%3Astorm_style_v2" in page.url
        page.screenshot(path=output_dir / "search.png")
        page.get_by_label("Search help").click()  # the query language at a glance, generation size included
        assert page.get_by_text("gen:832x1216 genwidth>=1024 genheight<1500").is_visible()
        page.screenshot(path=output_dir / "search-help.png")
        page.get_by_label("Search help").click()

        page.get_by_role("button", name="lighthouse.png").click()
        box = page.get_by_role("dialog", name="lighthouse.png")
        box.wait_for()
        meta = box.get_by_label("Metadata")
        meta.get_by_text("18446744073709551615").wait_for()
        assert meta.get_by_text("dreamshaper_8").is_visible()
        assert box.get_by_label("LoRAs").get_by_text("storm_style_v2").is_visible()
        box.get_by_label("Add tag").fill("keeper")
        box.get_by_label("Add tag").press("Enter")
        box.get_by_role("button", name="keeper ✕").wait_for()
        page.screenshot(path=output_dir / "lightbox.png")

        box.get_by_role("button", name="Move to trash").click()
        page.get_by_role("status").filter(has_text="moved 1 to the trash").wait_for()
        assert not box.is_visible()
        page.get_by_test_id("media-count").filter(has_text="0 item(s)").wait_for()
        assert not (ctx.workspace.outputs / "a1111" / "lighthouse.png").exists()

        page.get_by_role("button", name="Trash", exact=True).click()
        trash = page.get_by_label("Trash", exact=True)
        trash.get_by_text("a1111/lighthouse.png").wait_for()
        page.screenshot(path=output_dir / "trash.png")
        trash.get_by_role("button", name="Restore lighthouse.png").click()
        page.get_by_role("status").filter(has_text="restored 1").wait_for()
        assert (ctx.workspace.outputs / "a1111" / "lighthouse.png").exists()

        page.get_by_role("button", name="← Gallery").click()
        page.get_by_test_id("media-count").filter(has_text="1 item(s)").wait_for()  # the lora: search again
        search.fill("tag:keeper")
        search.press("Enter")
        page.get_by_test_id("media-count").filter(has_text="1 item(s)").wait_for()  # the tag survived the trash
        assert page.console_errors == []


def test_grid_keyboard_and_phone(tmp_path, output_dir):
    ctx, lib = make_library(tmp_path, media={"watch": False})
    _fill(ctx)
    lib.scan()
    lib.close()
    with live_controlpilot(ctx) as server, browser_page(PHONE) as page:
        login(page, server, "/mediapilot?q=source%3Acomfyui")
        page.get_by_test_id("media-count").filter(has_text="30 item(s)").wait_for()
        # Virtualised: far fewer tiles in the DOM than items once the grid is narrow.
        assert page.locator(".vgrid-cell").count() < 30
        page.locator(".vgrid-cell").first.get_by_role("button").click()
        box = page.get_by_role("dialog")
        box.wait_for()
        first = box.get_attribute("aria-label")
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "(name) => document.querySelector('[role=dialog]').getAttribute('aria-label') !== name", arg=first
        )
        page.keyboard.press("f")
        box.get_by_role("button", name="★ Favourite").wait_for()
        page.screenshot(path=output_dir / "phone-lightbox.png")
        page.keyboard.press("Escape")
        box.wait_for(state="detached")
        assert page.console_errors == []


def test_grid_stays_virtual_while_pages_load(tmp_path, output_dir):
    """3,000 items arrive page by page as the grid scrolls; the DOM only ever holds the rows in view."""
    ctx, lib = make_library(tmp_path, media={"watch": False})
    sample = mf.png(tmp_path / "sample.png", size=(32, 32), texts={"parameters": A1111})
    data = sample.read_bytes()
    for i in range(3000):
        folder = ctx.workspace.outputs / "bulk" / f"{i // 500}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"img_{i:05d}.png").write_bytes(data)
    assert lib.scan().added == 3000
    lib.close()
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/mediapilot")
        page.get_by_test_id("media-count").filter(has_text="3000 item(s)").wait_for()
        grid = page.get_by_test_id("media-grid")
        most_cells = 0
        for _ in range(200):
            grid.evaluate("el => { el.scrollTop = el.scrollHeight; }")
            page.wait_for_timeout(50)
            most_cells = max(most_cells, page.locator(".vgrid-cell").count())
            if page.get_by_role("button", name="img_00000.png").count():  # the oldest item: the last page is in
                break
        assert page.get_by_role("button", name="img_00000.png").count() == 1
        columns = grid.evaluate("el => Math.floor((el.clientWidth + 8) / 188)")  # 180 px tiles, 8 px gaps
        assert most_cells <= columns * 12  # visible rows + overscan, never thousands
        space = grid.evaluate("el => el.firstElementChild.getBoundingClientRect().height")
        assert space == -(-3000 // columns) * 188  # the scroll space covers every loaded item
        page.screenshot(path=output_dir / "bulk-end.png")


def test_new_files_appear_live(tmp_path):
    """The watcher runs with ControlPilot and the page follows its events: no reload, no polling."""
    ctx, lib = make_library(tmp_path)  # [mediapilot] watch defaults to on
    lib.close()
    mf.png(ctx.workspace.outputs / "first.png")
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/mediapilot")
        page.get_by_test_id("media-count").filter(has_text="1 item(s)").wait_for()
        page.get_by_test_id("live").and_(page.locator(".open")).wait_for()
        mf.png(ctx.workspace.outputs / "comfy" / "ComfyUI_00002_.png", texts={"parameters": A1111})
        page.get_by_role("button", name="ComfyUI_00002_.png").wait_for()
        page.get_by_test_id("media-count").filter(has_text="2 item(s)").wait_for()
        assert page.console_errors == []


def test_batch_select_compare_and_tag(tmp_path, output_dir):
    ctx, lib = make_library(tmp_path, media={"watch": False})
    _fill(ctx)
    lib.scan()
    lib.close()
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/mediapilot?q=seed%3A3%20OR%20seed%3A4")
        page.get_by_test_id("media-count").filter(has_text="2 item(s)").wait_for()
        page.get_by_label("Select ComfyUI_00003_.png").check()
        page.get_by_label("Select ComfyUI_00004_.png").check()
        page.get_by_test_id("media-count").filter(has_text="2 selected").wait_for()
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Zip").click()
        download = download_info.value
        assert download.suggested_filename == "mediapilot.zip" and "?" not in download.url  # no ids in the URL
        assert sorted(zipfile.ZipFile(download.path()).namelist()) == ["ComfyUI_00003_.png", "ComfyUI_00004_.png"]
        page.get_by_role("button", name="Compare").click()
        compare = page.get_by_role("dialog", name="Compare")
        seed_row = compare.locator("tr.differs", has=page.get_by_role("rowheader", name="seed"))
        # The dialog fetches both items' metadata: wait for it (auto-retrying) before reading.
        expect(seed_row.locator("td")).to_have_text(["4", "3"])  # newest first
        assert compare.locator("tr", has=page.get_by_role("rowheader", name="steps")).get_attribute("class") == ""
        page.screenshot(path=output_dir / "compare.png")
        compare.get_by_role("button", name="Close").click()
        page.get_by_label("Tag or folder").fill("pair")
        page.get_by_role("button", name="Tag", exact=True).click()
        page.get_by_role("status").filter(has_text="tagged 2").wait_for()
        page.get_by_label("Search media").fill("tag:pair")
        page.get_by_label("Search media").press("Enter")
        page.get_by_test_id("media-count").filter(has_text="2 item(s)").wait_for()
        assert page.console_errors == []


def test_video_plays_and_seeks_through_range_requests(tmp_path, output_dir):
    ctx, lib = make_library(tmp_path, media={"watch": False})
    mf.video(ctx.workspace.outputs / "anim" / "clip.webm", seconds=3.0, size=(96, 64))
    lib.scan()
    lib.close()
    with live_controlpilot(ctx) as server, browser_page() as page:
        ranges = []
        page.on(
            "response", lambda r: "/file" in r.url and ranges.append((r.status, r.request.all_headers().get("range")))
        )
        login(page, server, "/mediapilot")
        page.get_by_role("button", name="clip.webm").click()
        video = page.get_by_role("dialog", name="clip.webm").locator("video")
        video.wait_for()
        page.wait_for_function("v => v.readyState >= 2 && v.duration > 2.9", arg=video.element_handle())
        seeked = video.evaluate("""v => new Promise(done => {
            v.pause(); v.addEventListener('seeked', () => done(v.currentTime), {once: true}); v.currentTime = 2.5; })""")
        assert abs(seeked - 2.5) < 0.2
        page.screenshot(path=output_dir / "video.png")
        assert ranges and all(status == 206 and value and value.startswith("bytes=") for status, value in ranges), (
            ranges
        )
        assert page.console_errors == []


@pytest.mark.parametrize("clipboard_api", [True, False], ids=["clipboard-api", "plain-http-page"])
def test_copy_prompt_puts_it_on_the_clipboard(tmp_path, clipboard_api):
    """Pages served over plain HTTP from a LAN address have no Clipboard API: copying must still work,
    and the page must never say it copied when it did not."""
    ctx, lib = make_library(tmp_path, media={"watch": False})
    _fill(ctx)
    lib.scan()
    lib.close()
    with live_controlpilot(ctx) as server, browser_page() as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        if not clipboard_api:
            page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined})")
        login(page, server, "/mediapilot?q=lora%3Astorm")
        page.get_by_role("button", name="lighthouse.png").click()
        box = page.get_by_role("dialog", name="lighthouse.png")
        box.get_by_label("Metadata").get_by_text("dreamshaper_8").wait_for()
        box.get_by_role("button", name="Copy prompt").click()
        box.get_by_role("status").filter(has_text="prompt copied").wait_for()
        reader = page.context.new_page()  # a page with the Clipboard API reads what the other one put there
        reader.goto(server.url + "/mediapilot")
        assert reader.evaluate("navigator.clipboard.readText()") == "a lighthouse in a storm, <lora:storm_style_v2:0.7>"

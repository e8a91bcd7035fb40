"""TagPilot in headless Chromium with video clips: the grid's video badge and clip facts, the clip's caption,
and "Extract frames" as a live task that fills a new still dataset."""

import pytest

from lorapilot.tools.tagpilot import dataset as datasets
from support.browser import browser_page, live_controlpilot, login
from support.clips import make_clip
from support.tagpilot import write_image

pytestmark = pytest.mark.browser


def test_clips_in_the_grid_and_frames_into_a_still_dataset(ctx, output_dir):
    ds = datasets.create_dataset(ctx.workspace, "moves")
    make_clip(ds.path / "walk.mp4", size="96x64")
    (ds.path / "walk.txt").write_text("a person walking, outdoors")
    make_clip(ds.path / "wave.webm", scene_cut=False, size="64x96")
    (ds.path / "broken.mov").write_bytes(b"junk")
    write_image(ds.path / "still.png")
    (ds.path / "still.txt").write_text("a still")

    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/moves")
        walk = page.get_by_role("option", name="walk.mp4")
        walk.get_by_text("▶ video").wait_for()
        assert "2.0 s · 16 frames · 8 fps · 96×64" in walk.inner_text()
        assert page.get_by_test_id("caption-walk.mp4").inner_text() == "a person walking, outdoors"
        assert page.get_by_role("option", name="broken.mov").get_by_text("unreadable clip").is_visible()
        assert page.get_by_role("option", name="still.png").get_by_text("▶ video").count() == 0
        # The clip thumbnail is a real frame: the browser decoded it at the clip's size.
        size = walk.locator("img").evaluate(
            "img => img.complete && img.naturalWidth ? [img.naturalWidth, img.naturalHeight]"
            " : new Promise((ok) => img.addEventListener('load', () => ok([img.naturalWidth, img.naturalHeight])))"
        )
        assert size == [96, 64]
        assert "1 image, 3 video clips" in page.get_by_test_id("dataset-stats").inner_text()
        page.screenshot(path=output_dir / "clips-grid.png", full_page=True)

        # The caption editor plays the clip.
        walk.click()
        assert page.locator(".tp-editor-body video").get_attribute("src").endswith("/images/walk.mp4/file")
        page.keyboard.press("Escape")

        page.get_by_role("button", name="Extract frames…").click()
        frames = page.get_by_role("region", name="Extract frames")
        frames.get_by_label("Into dataset").fill("moves-stills")
        frames.get_by_label("Frames", exact=True).select_option("scene")
        frames.get_by_label("Scene threshold").fill("0.3")
        frames.get_by_role("button", name="Extract frames").click()
        report = page.get_by_test_id("frames-report")
        report.wait_for()
        assert report.inner_text().startswith("3 frames in the new dataset moves-stills")
        assert "walk.mp4: 2" in report.inner_text() and "wave.webm: 1" in report.inner_text()
        assert "cannot read clip broken.mov" in frames.inner_text()
        page.screenshot(path=output_dir / "frames-done.png", full_page=True)

        report.get_by_role("link", name="moves-stills").click()
        page.get_by_test_id("caption-walk-0002.png").get_by_text("a person walking, outdoors").wait_for()
        assert page.get_by_role("option", name="walk-0001.png").get_by_text("▶ video").count() == 0
        page.screenshot(path=output_dir / "stills-grid.png", full_page=True)

        # TrainPilot's dataset step says which datasets hold clips, and who trains on them.
        page.goto(server.url + "/trainpilot/new")
        choice = page.get_by_role("region", name="Choose a dataset").get_by_role("button", name="moves", exact=False)
        choice.first.wait_for()
        texts = {b.locator("strong").inner_text(): b.inner_text() for b in choice.all()}
        assert "1 images · 3 video clips (Diffusion Pipe: Wan, HunyuanVideo, LTX-Video)" in texts["moves"]
        assert "video clips" not in texts["moves-stills"]
        page.screenshot(path=output_dir / "trainpilot-datasets.png", full_page=True)
        assert page.console_errors == []

"""The journey's key steps in headless Chromium against a real ``lorapilot up`` (supervisord): log in,
create a dataset from a zip, add the trigger tag with a preview, "Train this" → the guided new-training
flow → queue, watch the job finish live, find the LoRA on the Models page and the samples in MediaPilot."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from lorapilot.stack.workspace.secrets import read_secrets
from support import journey as j
from support.browser import browser_page, login
from support.running import lorapilot, running, wait_for

pytest.importorskip("diffusers", reason="the native trainer needs the [train] extra")
pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(420)]


def _ready(ctx) -> bool:
    return all(s["ready"] for s in json.loads(lorapilot(ctx, "status", "--json").stdout))


def test_journey_in_the_browser(tmp_path, output_dir):
    ctx = j.journey_workspace(tmp_path / "ws")
    root = ctx.workspace.root
    archive = j.zip_folder(j.source_images(tmp_path / "my-photos"), tmp_path / "my-photos.zip")
    j.install_tiny_base_model(ctx)

    with running(ctx), browser_page() as page:
        wait_for(lambda: _ready(ctx), what="services ready")
        server = SimpleNamespace(
            url=f"http://127.0.0.1:{ctx.registry.get('controlpilot').port}",
            password=read_secrets(ctx.workspace.secrets_file)["CONTROLPILOT_PASSWORD"],
        )

        # 1. Log in; a new dataset from the zip of images and captions.
        login(page, server, "/tagpilot")
        page.get_by_label("New dataset name").fill(j.DATASET)
        page.locator("label", has_text="Create from zip").locator("input[type=file]").set_input_files(archive)
        page.wait_for_url(f"**/tagpilot/{j.DATASET}")
        page.get_by_test_id("dataset-stats").filter(has_text="8 images · 100% captioned").wait_for()
        page.get_by_test_id("caption-img00.png").wait_for()

        # 2. The trigger word first in every caption: preview the diff, then apply it.
        bulk = page.get_by_role("region", name="Bulk operations")
        bulk.get_by_label("Operation").select_option("add")
        bulk.get_by_label("Tag", exact=True).fill(j.TRIGGER)
        bulk.get_by_label("Position").select_option(label="first")
        bulk.get_by_role("button", name="Preview").click()
        bulk.get_by_label("Preview").get_by_text("8 of 8 captions change").wait_for()
        page.screenshot(path=output_dir / "1-trigger-preview.png", full_page=True)
        bulk.get_by_role("button", name="Apply 8 changes").click()
        page.get_by_test_id("caption-img00.png").get_by_text(f"{j.TRIGGER}, tok, red, square").wait_for()
        assert (root / "datasets" / j.DATASET / "img07.txt").read_text().startswith(f"{j.TRIGGER}, ")

        # 3. "Train this": TrainPilot's guided flow on this dataset.
        page.get_by_role("link", name="Train this").click()
        page.wait_for_url(f"**/trainpilot/new?dataset={j.DATASET}")
        base = page.get_by_label("Choose a base model")
        base.get_by_text(f"Dataset {j.DATASET} (8 images)").wait_for()
        base.get_by_label("Family").select_option(label="Stable Diffusion 1.5")
        base.get_by_role("button", name=re.compile(r"tiny-sd1")).click()
        page.screenshot(path=output_dir / "2-base-model.png", full_page=True)
        base.get_by_role("button", name="Next").click()

        preset = page.get_by_label("Choose a preset")
        preset.get_by_label("Trainer").select_option(label="Native (diffusers + peft)")
        preset.get_by_label("quick").check()
        preset.get_by_label("GPU memory").select_option(label="8 GB")
        preset.get_by_label("Trigger word").fill(j.TRIGGER)
        preset.get_by_label("LoRA name").fill(j.LORA_NAME)
        preset.get_by_role("button", name="Review").click()

        # 4. Review: the preset for the tiny CPU model, edited as JSON under "All settings".
        review = page.get_by_label("Review")
        assert review.get_by_label("Trigger word").input_value() == j.TRIGGER
        review.get_by_text("All settings").click()
        settings = review.get_by_label("All settings as JSON")
        profile = json.loads(settings.input_value())
        assert profile["sample"]["prompts"][0] == j.TRIGGER and profile["dataset"]["keep_tokens"] == 1
        settings.fill(json.dumps(j.tiny_profile(profile), indent=2))
        settings.blur()
        review.get_by_text("No problems found.").wait_for()
        assert review.get_by_label("Steps", exact=True).input_value() == str(j.STEPS)
        page.screenshot(path=output_dir / "3-review.png", full_page=True)
        review.get_by_role("button", name="Queue training").click()

        # 5. The job page follows the run live to the end.
        page.wait_for_url(re.compile(r"/trainpilot/jobs/1$"))
        page.get_by_test_id("state").filter(has_text="done").wait_for(timeout=240_000)
        page.get_by_test_id("job-stats").filter(has_text=f"{j.STEPS}/{j.STEPS}").wait_for()
        samples = page.get_by_label("Samples")
        samples.get_by_text(f"step {j.STEPS}").wait_for()
        assert samples.get_by_role("img").count() == 6
        page.get_by_text(f"models/loras/{j.LORA_NAME}.safetensors").wait_for()
        page.screenshot(path=output_dir / "4-job-done.png", full_page=True)

        # 6. The LoRA on the Models page: an SD1 LoRA of rank 4 whose tags include the trigger word.
        page.get_by_role("link", name="Open in Models").click()
        page.wait_for_url(re.compile(r"/models\?"))
        row = page.get_by_role("table", name="Models").get_by_role("row").filter(has_text=f"{j.LORA_NAME}.safetensors")
        row.get_by_text("SD1.x").wait_for()
        assert "lora r4" in row.inner_text()
        row.get_by_role("button", name="Inspect").click()
        details = page.get_by_role("region", name=f"Details of {j.LORA_NAME}.safetensors")
        details.get_by_text("rank 4, alpha 8").wait_for()
        details.get_by_role("table", name="Tag frequency").get_by_role("cell", name=j.TRIGGER, exact=True).wait_for()
        details.get_by_text(f"dataset {j.DATASET}").wait_for()  # from the training card
        page.screenshot(path=output_dir / "5-models.png", full_page=True)

        # 7. The samples in MediaPilot, found by their prompt, with their parameters.
        page.go_back()
        page.get_by_role("link", name="Samples in MediaPilot").click()
        page.wait_for_url(re.compile(r"/mediapilot\?q="))
        page.get_by_test_id("media-count").filter(has_text="6 item(s)").wait_for()
        page.get_by_label("Search media").fill(f'"{j.TRIGGER}, tok, red"')
        page.get_by_label("Search media").press("Enter")
        page.get_by_test_id("media-count").filter(has_text="2 item(s)").wait_for()
        page.get_by_test_id("media-grid").get_by_role("button").first.click()
        meta = page.get_by_role("dialog").get_by_label("Metadata")
        meta.get_by_text(f"{j.TRIGGER}, tok, red, square, simple background").first.wait_for()
        meta.get_by_text("tiny-sd1").wait_for()
        page.screenshot(path=output_dir / "6-mediapilot.png", full_page=True)
        assert page.console_errors == []

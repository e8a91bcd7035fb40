"""The new-training flow in headless Chromium offers Qwen-Image, Wan 2.2, FLUX.2 and Z-Image, lists their base
models by the store's detection, asks for their parts, and offers only the trainers that train them."""

from __future__ import annotations

import re

import pytest

from support import model_files as mf
from support.browser import browser_page, live_controlpilot, login
from support.trainpilot import make_train_workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_zimage_on_diffusion_pipe_through_the_flow(tmp_path, output_dir):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"worker": False}})
    models = ctx.workspace.models
    mf.write_model(models / "diffusion_models" / "z_image_turbo_bf16.safetensors", mf.zimage_transformer())
    mf.write_model(models / "diffusion_models" / "lumina_2.safetensors", mf.lumina2_transformer())
    mf.write_model(models / "vae" / "ae.safetensors", mf.vae(16))
    mf.write_model(models / "text_encoders" / "qwen_3_4b.safetensors", mf.t5xxl())
    adapter = "loras/zimage_turbo_training_adapter_v1.safetensors"
    mf.write_model(models / adapter, mf.peft_lora({"layers.0.attention.to_k": 3840}))
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/trainpilot/new?dataset=cats")
        base = page.get_by_label("Choose a base model")
        family = base.get_by_label("Family")
        family.locator("option", has_text="Z-Image").wait_for(state="attached")
        labels = [o.inner_text() for o in family.locator("option").all()]
        assert {"Qwen-Image", "Wan 2.2 (text-to-video)", "FLUX.2", "Z-Image"} <= set(labels)
        # A closed <select> shows one option: open it as a list for the screenshot only.
        family.evaluate("el => { el.size = el.options.length; }")
        page.screenshot(path=output_dir / "family-list.png", full_page=True)
        family.evaluate("el => { el.size = 0; }")
        family.select_option(label="Z-Image")
        base.get_by_text("Diffusion Pipe trains Z-Image from ComfyUI's files").wait_for()
        pick = base.get_by_role("button", name=re.compile(r"z_image_turbo_bf16\.safetensors"))
        pick.wait_for()
        assert base.get_by_role("button", name=re.compile(r"lumina_2\.safetensors")).count() == 0
        pick.click()
        for slot, value in (
            ("vae", "vae/ae.safetensors"),
            ("llm", "text_encoders/qwen_3_4b.safetensors"),
            ("adapter", adapter),
        ):
            select = base.get_by_label(slot)
            select.locator("option", has_text=value).wait_for(state="attached")
            select.select_option(value)
        page.screenshot(path=output_dir / "zimage-base-and-parts.png", full_page=True)
        base.get_by_role("button", name="Next").click()

        preset = page.get_by_label("Choose a preset")
        unusable = preset.get_by_label("Not for this model")
        unusable.get_by_text(
            "Kohya sd-scripts does not train Z-Image LoRAs; use AI Toolkit or Diffusion Pipe"
        ).wait_for()
        unusable.get_by_text("Native (diffusers + peft) does not train Z-Image LoRAs").wait_for()
        preset.get_by_label("Trainer").select_option(label="Diffusion Pipe")
        tiers = preset.get_by_label("GPU memory")
        tiers.select_option(label="16 GB")
        assert tiers.locator("option").nth(0).inner_text() == "8 GB (too small)"
        page.screenshot(path=output_dir / "zimage-preset.png", full_page=True)
        preset.get_by_role("button", name="Review").click()

        review = page.get_by_label("Review")
        review.get_by_text("No problems found.").wait_for()
        page.screenshot(path=output_dir / "zimage-diffusion-pipe-review.png", full_page=True)
        assert page.console_errors == []

"""The new-training flow's draft takes a regularization set: the profile names it, validation checks it,
and in Chromium the preset step lists only datasets TagPilot marked as regularization sets."""

from __future__ import annotations

import re

import pytest

from lorapilot.tools.tagpilot.dataset import open_dataset
from lorapilot.tools.tagpilot.metadata import mark_regularization
from lorapilot.tools.trainpilot.profiles import ProfileStore, RegularizationRef
from support.api import make_client
from support.browser import browser_page, live_controlpilot, login
from support.trainpilot import make_dataset, make_train_workspace

DRAFT = {
    "name": "mycat",
    "dataset": "cats",
    "base": "checkpoints/sd15-base.safetensors",
    "family": "sd15",
    "quality": "quick",
    "vram_gb": 12,
    "trainer": "native",
}


def test_a_draft_carries_the_regularization_set_and_validation_checks_it(tmp_path):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"worker": False}})
    make_dataset(ctx.workspace.root, "cat-class", images=3, captioned=1)
    client = make_client(ctx)
    reg = {"name": "cat-class", "repeats": 2, "weight": 0.5, "class_tokens": ""}
    draft = client.post("/api/trainpilot/profiles/draft", json={**DRAFT, "regularization": reg}).json()
    assert draft["profile"]["regularization"] == reg
    # two class images lack a caption and no class tokens are set: a warning naming the field
    assert [(i["field"], i["level"]) for i in draft["issues"] if i["field"].startswith("regularization")] == [
        ("regularization.class_tokens", "warning")
    ]
    missing = client.post("/api/trainpilot/profiles/draft", json={**DRAFT, "regularization": {"name": "nope"}}).json()
    assert any(i["field"] == "regularization.name" and i["level"] == "error" for i in missing["issues"])
    bad = client.post(
        "/api/trainpilot/profiles/draft", json={**DRAFT, "regularization": {"name": "cat-class", "weight": 0}}
    )
    assert bad.status_code == 422 and "weight" in bad.text
    plain = client.post("/api/trainpilot/profiles/draft", json=DRAFT).json()
    assert plain["profile"]["regularization"] is None


@pytest.mark.browser
def test_the_preset_step_offers_the_marked_regularization_sets(tmp_path, output_dir):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"worker": False}})
    make_dataset(ctx.workspace.root, "cat-class", images=3)
    make_dataset(ctx.workspace.root, "dogs", images=2)  # not marked: not offered
    mark_regularization(open_dataset(ctx.workspace, "cat-class"))
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/trainpilot/new?dataset=cats")
        base = page.get_by_label("Choose a base model")
        base.get_by_label("Family").select_option(label="Stable Diffusion 1.5")
        base.get_by_role("button", name=re.compile(r"sd15-base\.safetensors")).click()
        base.get_by_role("button", name="Next").click()

        preset = page.get_by_label("Choose a preset")
        preset.get_by_label("Trainer").select_option(label="Native (diffusers + peft)")
        preset.get_by_label("GPU memory").select_option(label="12 GB")
        picker = preset.get_by_role("group", name="Regularization")
        options = picker.get_by_label("Regularization set").locator("option").all_inner_texts()
        assert options == ["(none)", "cat-class (3 images)"]
        picker.get_by_label("Regularization set").select_option("cat-class")
        picker.get_by_label("Repeats").fill("3")
        picker.get_by_label("Prior loss weight").fill("0.7")
        picker.get_by_label("Class tokens").fill("a cat")
        page.screenshot(path=output_dir / "preset-regularization.png", full_page=True)
        preset.get_by_role("button", name="Review").click()

        review = page.get_by_label("Review")
        review.get_by_text("No problems found.").wait_for()
        review.get_by_role("button", name="Save profile").click()
        review.get_by_role("status").filter(has_text="Saved as").wait_for()
        assert page.console_errors == []
    saved = ProfileStore(ctx.workspace).load("cats-sd15")
    assert saved.regularization == RegularizationRef(name="cat-class", repeats=3, weight=0.7, class_tokens="a cat")

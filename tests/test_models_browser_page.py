"""The Models page in headless Chromium: filter, inspect with the tag table, pull with live progress, delete, restore."""

import pytest

from support import model_files as mf
from support.browser import PHONE, browser_page, live_controlpilot, login
from support.model_server import ModelServer
from support.workspaces import make_workspace

pytestmark = pytest.mark.browser


def test_models_page(output_dir, tmp_path):
    unmounted = tmp_path / "unmounted-volume"
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"extra_roots": [str(unmounted)]}})
    models = ctx.workspace.models
    mf.write_model(models / "loras" / "pixel.safetensors", mf.kohya_lora_sd1(), mf.LORA_METADATA)
    mf.write_model(models / "checkpoints" / "base.safetensors", mf.sdxl_checkpoint())
    (models / "checkpoints" / "base.preview.png").write_bytes(b"png")
    server = ModelServer().start()
    data = mf.write_model(tmp_path / "src.safetensors", mf.kohya_lora_sdxl(rank=256)).read_bytes()
    url = server.add("/files/new_style.safetensors", data, bytes_per_s=1_000_000)
    try:
        with live_controlpilot(ctx) as cp, browser_page() as page:
            login(page, cp, "/models")
            table = page.get_by_role("table", name="Models")
            table.get_by_text("pixel.safetensors").wait_for()
            table.get_by_text("base.safetensors").wait_for()
            page.get_by_role("alert").filter(has_text=f"Extra root {unmounted} is not reachable").wait_for()

            page.get_by_label("Base family").select_option("sdxl")
            page.get_by_text("pixel.safetensors").wait_for(state="detached")
            page.get_by_label("Base family").select_option("")
            page.get_by_label("Type").select_option("loras")
            table.get_by_text("base.safetensors").wait_for(state="detached")
            table.get_by_text("pixel.safetensors").wait_for()
            page.get_by_label("Type").select_option("")
            page.get_by_label("Size").select_option("100000000")  # > 100 MB: none of these
            page.get_by_text("No models match.").wait_for()
            page.get_by_label("Size").select_option("0")

            table.get_by_role("row", name="pixel.safetensors").get_by_role("button", name="Inspect").click()
            tags = page.get_by_role("table", name="Tag frequency")
            tags.get_by_text("pixel art").wait_for()
            assert "40" in tags.inner_text()
            page.get_by_text("lora, rank 4, alpha 2").wait_for()
            page.screenshot(path=output_dir / "models-inspect.png", full_page=True)

            page.get_by_label("Source").fill(url)
            page.get_by_role("button", name="Pull", exact=True).click()
            page.get_by_label("pull " + url + " progress").wait_for()  # live progress bar
            page.get_by_test_id("task-done").wait_for(timeout=20000)
            table.get_by_text("new_style.safetensors").wait_for()
            assert (models / "loras" / "new_style.safetensors").read_bytes() == data

            page.get_by_role("button", name="Delete base.safetensors").click()
            deleted = page.get_by_role("region", name="Deleted models")
            deleted.get_by_text("checkpoints/base.safetensors").wait_for()
            deleted.get_by_text("with base.preview.png").wait_for()  # one row: the preview comes back with it
            assert not (models / "checkpoints" / "base.safetensors").exists()
            deleted.get_by_role("button", name="Restore base.safetensors").click()
            table.get_by_text("base.safetensors").wait_for()
            assert (models / "checkpoints" / "base.safetensors").exists()
            assert (models / "checkpoints" / "base.preview.png").read_bytes() == b"png"

            page.set_viewport_size(PHONE)
            page.screenshot(path=output_dir / "models-phone.png", full_page=True)
            assert page.console_errors == []
    finally:
        server.stop()

"""The Models page finds models on CivitAI (a loopback server in its documented shapes), pulls one, and badges updates."""

import pytest

from support import hub_data
from support import model_files as mf
from support.browser import browser_page, live_controlpilot, login
from support.model_server import ModelServer
from support.workspaces import make_workspace

pytestmark = pytest.mark.browser


def test_find_pull_and_update_from_the_models_page(output_dir, tmp_path, monkeypatch):
    for name in ("HF_ENDPOINT", "CIVITAI_ENDPOINT", "CIVITAI_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    server = ModelServer().start()
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"civitai_url": server.url, "hf_url": server.url}})
    v1 = mf.write_model(tmp_path / "v1.safetensors", mf.kohya_lora_sd1(rank=4), mf.LORA_METADATA).read_bytes()
    v2 = mf.write_model(tmp_path / "v2.safetensors", mf.kohya_lora_sd1(rank=8), mf.LORA_METADATA).read_bytes()
    old = hub_data.civitai_version(server, 11, 110, v1, name="v1.0")
    new = hub_data.civitai_version(server, 11, 111, v2, name="v2.0", words=("pxl style", "8bit"))
    hub_data.civitai_model(server, 11, [new, old], downloads=500)
    ckpt = hub_data.civitai_version(
        server, 12, 120, b"x" * 100, name="v1", base="SD 1.5", model_name="Pixel Checkpoint", model_type="Checkpoint"
    )
    hub_data.civitai_model(server, 12, [ckpt], name="Pixel Checkpoint", model_type="Checkpoint")
    models = ctx.workspace.models
    try:
        with live_controlpilot(ctx) as cp, browser_page() as page:
            login(page, cp, "/models")
            finder = page.get_by_role("region", name="Find models")
            finder.get_by_label("Find", exact=True).fill("pixel")
            finder.get_by_label("Find kind").select_option("loras")
            finder.get_by_label("Find base model").select_option("sdxl")
            finder.get_by_role("button", name="Search").click()
            result = finder.get_by_test_id("result-civitai-11")
            result.get_by_text("Trigger words:").wait_for()
            assert "pxl style" in result.inner_text() and "8bit" in result.inner_text()
            assert finder.get_by_test_id("result-civitai-12").count() == 0  # a checkpoint: filtered out
            result.get_by_role("img").wait_for()
            page.wait_for_function(
                "() => [...document.querySelectorAll('.hub-result img')].every(i => i.complete && i.naturalWidth > 0)"
            )
            page.screenshot(path=output_dir / "models-search.png", full_page=True)

            # The older version first: then the update check has something to say.
            result.get_by_label("Pixel Art version").select_option("1")
            result.get_by_role("button", name="Pull Pixel Art v1.0").click()
            table = page.get_by_role("table", name="Models")
            table.get_by_text("pixel_110.safetensors").wait_for(timeout=20000)
            assert (models / "loras" / "pixel_110.civitai.info").is_file()
            assert (models / "loras" / "pixel_110.preview.png").is_file()

            page.get_by_role("button", name="Check for updates").click()
            badge = table.get_by_role("button", name="Update pixel_110.safetensors")
            badge.wait_for(timeout=20000)
            assert "v2.0 (111)" in badge.inner_text()
            page.screenshot(path=output_dir / "models-update-badge.png", full_page=True)
            badge.click()
            table.get_by_text("pixel_111.safetensors").wait_for(timeout=20000)
            assert (models / "loras" / "pixel_111.safetensors").read_bytes() == v2
            assert page.console_errors == []
    finally:
        server.stop()

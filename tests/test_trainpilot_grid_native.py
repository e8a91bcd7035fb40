"""The LoRA test grid, rendered with diffusers after a real (tiny, CPU) training run: the worker renders
it when the job ends; every cell carries its metadata (MediaPilot finds it by LoRA and weight); the
manifest names rows and columns; the composed image has the labels' room; cancel-free re-render on demand."""

from __future__ import annotations

import json

import pytest

from lorapilot.kit.errors import ConfigError, LorapilotError

tiny_sd = pytest.importorskip("support.tiny_sd", reason="tests/support/tiny_sd.py is missing")
pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(900)]  # one real training run, then renders


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real training run for the module; ComfyUI enabled but not running (so the native renderer runs)."""
    from support.grid_jobs import trained_job

    ctx, job, worker = trained_job(
        tmp_path_factory.mktemp("grid") / "ws",
        settings={"grid_weights": [0.0, 1.0]},
        enabled=("controlpilot", "comfyui"),
    )
    worker.grid_thread.join(300)
    return ctx, job


def test_grid_after_training_then_on_demand(trained, tmp_path):
    from PIL import Image

    from lorapilot.tools.mediapilot.library import MediaLibrary
    from lorapilot.tools.mediapilot.query import search
    from lorapilot.tools.trainpilot.grid import grid_dir, plan_for_job, read_manifest, render_job_grid

    ctx, job = trained  # the automatic grid: 2 checkpoints × 2 weights × 2 prompts = 8 ≤ 24
    # It was rendered by a child process (diffusers' loading never runs inside the queue worker): its log.
    assert (job.run_path / "grid.log").is_file()
    manifest = read_manifest(grid_dir(job))
    assert manifest is not None and manifest["renderer"] == "native"
    assert manifest["rows"] == ["step 2 × 0", "step 2 × 1", "final × 0", "final × 1"]
    assert manifest["cols"] == ["tok, red, square", "tok, blue, stripe"]
    assert len(manifest["cells"]) == 8 and {c["seed"] for c in manifest["cells"]} == {1234, 1235}

    def cell(row, col):
        entry = next(c for c in manifest["cells"] if (c["row"], c["col"]) == (row, col))
        return Image.open(grid_dir(job) / entry["file"])

    # Weight 0 is the base model whatever the checkpoint; weight 1 is not (the LoRA changes the image),
    # and two checkpoints at weight 1 differ: the grid shows what training did.
    assert cell(0, 0).tobytes() == cell(2, 0).tobytes()
    assert cell(1, 0).tobytes() != cell(0, 0).tobytes()
    assert cell(1, 0).tobytes() != cell(3, 0).tobytes()
    text = cell(3, 1).text["parameters"]
    assert (
        text.startswith("tok, blue, stripe <lora:tiny-grid:1>") and "Seed: 1235" in text and "Grid: final @ 1" in text
    )
    grid = Image.open(grid_dir(job) / "grid.png")
    assert grid.width > 2 * 64 and grid.height > 4 * 64  # the cells plus the label margins

    lib = MediaLibrary.open(ctx)
    lib.scan()
    found = sorted(r["name"] for r in search(lib.index.read(), "lora:tiny-grid", limit=100).rows)
    assert {"c01_w01_p01.png", "c00_w00_p00.png"} <= set(found)
    lib.close()

    # On demand: the last checkpoint only, other weights and prompts; the folder is replaced whole.
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# mine\ntok, green, square\n\n", encoding="utf-8")
    from lorapilot.tools.trainpilot.grid import read_prompts

    seen = []
    plan = plan_for_job(ctx, job.id, weights=[0.5], prompts=read_prompts(prompts), checkpoints="last")
    again = render_job_grid(ctx, plan, "native", progress=lambda c, t=None, m="": seen.append((c, t)))
    assert again["rows"] == ["final × 0.5"] and again["cols"] == ["tok, green, square"]
    assert seen[0] == (0, 1) and seen[-1] == (1, 1)
    assert json.loads((grid_dir(job) / "manifest.json").read_text())["cells"][0]["weight"] == 0.5
    assert [p.name for p in (grid_dir(job) / "cells").iterdir()] == ["c00_w00_p00.png"]  # one whole grid
    from lorapilot.kit.trash import Trash

    trashed = [item for item in Trash(ctx.workspace.root).list() if item.source == "trainpilot"]
    assert [item.name for item in trashed] == ["grid"]  # the previous grid, restorable


def test_grid_through_comfyui(trained):
    """ComfyUI answering on its port: the grid goes through /prompt, /history, /view with a graph per cell."""
    from PIL import Image

    from lorapilot.kit.errors import ServiceError
    from lorapilot.tools.trainpilot.grid import grid_dir, plan_for_job, render_job_grid
    from support.fake_comfyui import FakeComfyUI

    ctx, job = trained
    models = ctx.workspace.models
    plan = plan_for_job(ctx, job.id, weights=[0.5, 1.0], checkpoints="all")
    with FakeComfyUI(models, port=ctx.registry.get("comfyui").port) as comfy:
        manifest = render_job_grid(ctx, plan)  # auto: ComfyUI answers, so ComfyUI renders
        assert manifest["renderer"] == "comfyui" and len(comfy.graphs) == 8
        graph = comfy.graphs[-1]
        assert graph["1"] == {"class_type": "DiffusersLoader", "inputs": {"model_path": "tiny-sd1"}}
        lora = graph["2"]["inputs"]
        assert lora["lora_name"].startswith("trainpilot-grid/tiny-grid-") and lora["lora_name"].endswith(
            "/tiny-grid.safetensors"
        )
        assert (lora["strength_model"], graph["6"]["inputs"]["seed"], graph["3"]["inputs"]["text"]) == (
            1.0,
            1235,
            "tok, blue, stripe",
        )
        first = comfy.graphs[0]["2"]["inputs"]["lora_name"]
        assert first.endswith("/tiny-grid-step00000002.safetensors")
        assert not (models / "loras" / "trainpilot-grid").exists() or not any(
            (models / "loras" / "trainpilot-grid").iterdir()
        )
        cell = Image.open(grid_dir(job) / manifest["cells"][-1]["file"])
        assert json.loads(cell.text["prompt"])["2"]["class_type"] == "LoraLoader"  # ComfyUI's own graph kept
        assert "<lora:tiny-grid:1>" in cell.text["parameters"]

    with FakeComfyUI(models, port=ctx.registry.get("comfyui").port, fail_on_text="tok, blue, stripe"):
        with pytest.raises(ServiceError, match="KSampler: out of memory"):
            render_job_grid(ctx, plan, "comfyui")
    assert (
        json.loads((grid_dir(job) / "manifest.json").read_text())["renderer"] == "comfyui"
    )  # the last whole grid stays


def test_bad_grid_requests_name_the_value(tmp_path):
    from lorapilot.tools.trainpilot.grid import parse_weights, read_prompts, select_checkpoints

    with pytest.raises(ConfigError, match="'x' is not a number"):
        parse_weights("0.5,x")
    with pytest.raises(ConfigError, match="outside"):
        parse_weights("9")
    empty = tmp_path / "p.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no prompts"):
        read_prompts(empty)
    saved = [(s, tmp_path / f"s{s}.safetensors") for s in (2, 4, 6, 8)]
    final = tmp_path / "f.safetensors"
    assert [c.label for c in select_checkpoints(saved, final, "2")] == ["step 2", "final"]
    assert [c.label for c in select_checkpoints(saved, final, "3")] == ["step 2", "step 6", "final"]
    assert [c.label for c in select_checkpoints(saved, None, "last")] == ["step 8"]
    with pytest.raises(ConfigError, match="'some'"):
        select_checkpoints(saved, final, "some")
    with pytest.raises(LorapilotError, match="no saved LoRA"):
        select_checkpoints([], None, "all")


def test_patching_restores_the_exact_weights_and_refuses_a_foreign_lora(tmp_path):
    import torch
    from safetensors.torch import save_file

    from lorapilot.tools.trainpilot.grid.lora_patch import PatchedLora, kohya_module_names, read_kohya

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Conv2d(3, 2, 1))
    before = [p.detach().clone() for p in model.parameters()]
    path = tmp_path / "l.safetensors"
    save_file(
        {
            "lora_unet_0.lora_down.weight": torch.randn(2, 4),
            "lora_unet_0.lora_up.weight": torch.randn(3, 2),
            "lora_unet_0.alpha": torch.tensor(1.0),
            "lora_unet_1.lora_down.weight": torch.randn(2, 3, 1, 1),
            "lora_unet_1.lora_up.weight": torch.randn(2, 2, 1, 1),
        },
        str(path),
    )
    lora, targets = read_kohya(path), kohya_module_names(model, "lora_unet_")
    with PatchedLora(targets, lora, 0.7):
        assert not torch.equal(model[0].weight, before[0]) and not torch.equal(model[1].weight, before[2])
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), before))
    foreign = tmp_path / "f.safetensors"
    save_file(
        {"lora_te_x.lora_down.weight": torch.ones(1, 1), "lora_te_x.lora_up.weight": torch.ones(1, 1)}, str(foreign)
    )
    with pytest.raises(LorapilotError, match="match nothing in the base model"):
        PatchedLora(targets, read_kohya(foreign), 1.0, str(foreign))


def test_grid_from_the_cli_with_a_progress_bar(trained, tmp_path):
    import os
    import subprocess
    import sys

    ctx, job = trained
    prompts = tmp_path / "p.txt"
    prompts.write_text("tok, yellow, square\n", encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "lorapilot",
        "train",
        "grid",
        str(job.id),
        "--weights",
        "0.8",
        "--prompts",
        str(prompts),
        "--checkpoints",
        "1",
        "--renderer",
        "native",
        "-w",
        str(ctx.workspace.root),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "1 images (1 rows × 1 prompts) by native" in proc.stdout and "grid/grid.png" in proc.stdout
    assert "grid for job" in proc.stderr and "1/1" in proc.stderr  # the rich progress bar
    bad = subprocess.run(
        cmd[:6] + ["--weights", "0.8,heavy", "-w", str(ctx.workspace.root)], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode != 0 and "'heavy' is not a number" in bad.stderr


def test_grid_through_the_api_as_a_task(trained):
    import time

    from support.api import make_client

    ctx, job = trained
    client = make_client(ctx)
    started = client.post(
        f"/api/train/jobs/{job.id}/grid",
        json={"weights": [1.0], "prompts": ["tok, red, stripe"], "checkpoints": "last", "renderer": "native"},
    )
    assert started.status_code == 200, started.text
    assert started.json()["cells"] == 1
    deadline = time.monotonic() + 300
    while True:
        status = client.get(f"/api/train/jobs/{job.id}/grid").json()
        if status["task"]["state"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status["task"]["state"] == "done", status["task"]["error"]
    assert status["task"]["current"] == status["task"]["total"] == 1
    manifest = status["manifest"]
    assert manifest["rows"] == ["final × 1"] and manifest["cols"] == ["tok, red, stripe"]
    image = client.get(f"/api/train/jobs/{job.id}/file", params={"path": f"{status['folder']}/{manifest['grid']}"})
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    bad = client.post(f"/api/train/jobs/{job.id}/grid", json={"weights": [9.0]})
    assert bad.status_code == 400 and "outside" in bad.text
    bad = client.post(f"/api/train/jobs/{job.id}/grid", json={"checkpoints": "some"})
    assert bad.status_code == 422


@pytest.mark.browser
def test_job_page_shows_the_grid_and_opens_a_cell_in_compare(trained, output_dir):
    from playwright.sync_api import expect

    from lorapilot.tools.mediapilot.library import MediaLibrary
    from lorapilot.tools.trainpilot.grid import plan_for_job, render_job_grid
    from support.browser import browser_page, live_controlpilot, login, require_browser

    require_browser()
    ctx, job = trained
    render_job_grid(ctx, plan_for_job(ctx, job.id, weights=[0.0, 1.0]), "native")
    lib = MediaLibrary.open(ctx)
    lib.scan()
    lib.close()
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, f"/train/jobs/{job.id}")
        grid = page.get_by_label("Test grid")
        table = grid.locator("table.lora-grid")
        expect(table.get_by_role("columnheader", name="tok, blue, stripe")).to_be_visible()
        expect(table.get_by_role("rowheader", name="step 2 × 1")).to_be_visible()
        expect(table.locator("img")).to_have_count(8)
        page.wait_for_function(
            "[...document.querySelectorAll('table.lora-grid img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        grid.screenshot(path=output_dir / "job-grid.png")
        page.screenshot(path=output_dir / "job-page.png", full_page=True)
        table.get_by_role("link", name="final × 1, tok, red, square").click()  # final checkpoint at weight 1
        compare = page.get_by_role("dialog", name="Compare")
        expect(compare.locator("img")).to_have_count(2)  # step 2 and final, same weight and prompt
        expect(compare.get_by_role("heading", name="Compare 2")).to_be_visible()
        page.screenshot(path=output_dir / "compare.png", full_page=True)

        # Back on the job page, render again: the task's live progress, then the new grid.
        page.go_back()
        grid.get_by_label("Weights").fill("0.5")
        grid.get_by_label("Checkpoints").select_option("last")
        grid.get_by_role("button", name="Render again").click()
        expect(table.locator("img")).to_have_count(2, timeout=120_000)
        expect(table.get_by_role("rowheader", name="final × 0.5")).to_be_visible()

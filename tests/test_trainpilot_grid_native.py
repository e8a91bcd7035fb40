"""The LoRA test grid, rendered with diffusers after a real (tiny, CPU) training run: the worker renders
it when the job ends; every cell carries its metadata (MediaPilot finds it by LoRA and weight); the
manifest names rows and columns; the composed image has the labels' room; cancel-free re-render on demand."""

from __future__ import annotations

import json

import pytest

from lorapilot.kit.errors import ConfigError, LorapilotError

tiny_sd = pytest.importorskip("support.tiny_sd", reason="tests/support/tiny_sd.py is missing")
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real training run for the module; ComfyUI enabled but not running (so the native renderer runs)."""
    from support.grid_jobs import trained_job

    ctx, job, worker = trained_job(tmp_path_factory.mktemp("grid") / "ws", settings={"grid_weights": [0.0, 1.0]},
                                   enabled=("controlpilot", "comfyui"))
    worker.grid_thread.join(300)
    return ctx, job


def test_grid_after_training_then_on_demand(trained, tmp_path):
    from PIL import Image

    from lorapilot.tools.mediapilot.library import MediaLibrary
    from lorapilot.tools.mediapilot.query import search
    from lorapilot.tools.trainpilot.grid import grid_dir, plan_for_job, read_manifest, render_job_grid

    ctx, job = trained  # the automatic grid: 2 checkpoints × 2 weights × 2 prompts = 8 ≤ 24
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
    assert text.startswith("tok, blue, stripe <lora:tiny-grid:1>") and "Seed: 1235" in text and "Grid: final @ 1" in text
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
        assert lora["lora_name"].startswith("trainpilot-grid/tiny-grid-") and lora["lora_name"].endswith("/tiny-grid.safetensors")
        assert (lora["strength_model"], graph["6"]["inputs"]["seed"], graph["3"]["inputs"]["text"]) == (1.0, 1235, "tok, blue, stripe")
        first = comfy.graphs[0]["2"]["inputs"]["lora_name"]
        assert first.endswith("/tiny-grid-step00000002.safetensors")
        assert not (models / "loras" / "trainpilot-grid").exists() or not any((models / "loras" / "trainpilot-grid").iterdir())
        cell = Image.open(grid_dir(job) / manifest["cells"][-1]["file"])
        assert json.loads(cell.text["prompt"])["2"]["class_type"] == "LoraLoader"  # ComfyUI's own graph kept
        assert "<lora:tiny-grid:1>" in cell.text["parameters"]

    with FakeComfyUI(models, port=ctx.registry.get("comfyui").port, fail_on_text="tok, blue, stripe"):
        with pytest.raises(ServiceError, match="KSampler: out of memory"):
            render_job_grid(ctx, plan, "comfyui")
    assert json.loads((grid_dir(job) / "manifest.json").read_text())["renderer"] == "comfyui"  # the last whole grid stays


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
    save_file({"lora_unet_0.lora_down.weight": torch.randn(2, 4), "lora_unet_0.lora_up.weight": torch.randn(3, 2),
               "lora_unet_0.alpha": torch.tensor(1.0),
               "lora_unet_1.lora_down.weight": torch.randn(2, 3, 1, 1), "lora_unet_1.lora_up.weight": torch.randn(2, 2, 1, 1)},
              str(path))
    lora, targets = read_kohya(path), kohya_module_names(model, "lora_unet_")
    with PatchedLora(targets, lora, 0.7):
        assert not torch.equal(model[0].weight, before[0]) and not torch.equal(model[1].weight, before[2])
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), before))
    foreign = tmp_path / "f.safetensors"
    save_file({"lora_te_x.lora_down.weight": torch.ones(1, 1), "lora_te_x.lora_up.weight": torch.ones(1, 1)}, str(foreign))
    with pytest.raises(LorapilotError, match="match nothing in the base model"):
        PatchedLora(targets, read_kohya(foreign), 1.0, str(foreign))

"""The real ComfyUI (pinned archive, --cpu) under `lorapilot up` with the supervisord backend.

Installed with `lorapilot install comfyui --from <vendor archive> --source-only`;
its Python is the tier's cached 3.11 env (CPU torch 2.13.0 + components/comfyui's
requirements). Checks the seams users meet first: the probe, the store and an
extra root seen through extra_model_paths.yaml, a graph MediaPilot sends, and
outputs landing in outputs/comfy/ where MediaPilot indexes them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from upstream_envs import CACHE_DIR, COMFY_REQUIREMENTS, python_of, wait_ready

from lorapilot.stack.workspace.layout import ensure_layout
from lorapilot.tools.mediapilot.comfy_send import send_to_comfy
from lorapilot.tools.mediapilot.library import MediaLibrary
from support import media_files as mf
from support.model_files import kohya_lora_sd1, write_model
from support.running import lorapilot, running, wait_for
from support.workspaces import make_workspace

pytestmark = [pytest.mark.upstream, pytest.mark.e2e, pytest.mark.timeout(1800)]


def _graph(ckpt: str, lora: str) -> dict:
    """The txt2img API graph a ComfyUI PNG carries (what MediaPilot sends back)."""
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "2": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": lora,
                "strength_model": 0.6,
                "strength_clip": 1.0,
                "model": ["1", 0],
                "clip": ["1", 1],
            },
        },
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "an ink whale", "clip": ["2", 1]}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "color", "clip": ["2", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 7,
                "steps": 1,
                "cfg": 1.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["2", 0],
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["5", 0],
            },
        },
        "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
        "8": {"class_type": "SaveImage", "inputs": {"filename_prefix": "lorapilot", "images": ["7", 0]}},
    }


# A graph ComfyUI runs without a model: a solid image, saved with its prompt and workflow.
SOLID = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 3381759}},
    "2": {"class_type": "SaveImage", "inputs": {"filename_prefix": "solid", "images": ["1", 0]}},
}
WORKFLOW = {
    "last_node_id": 2,
    "nodes": [{"id": 1, "type": "EmptyImage"}, {"id": 2, "type": "SaveImage"}],
    "links": [],
    "version": 0.4,
}


def _history(base: str, prompt_id: str) -> dict:
    def done():
        entry = httpx.get(f"{base}/history/{prompt_id}", timeout=10).json().get(prompt_id)
        return entry if entry and entry.get("status", {}).get("completed") is not None else None

    return wait_for(done, timeout=120, what=f"ComfyUI finishing prompt {prompt_id}")


@pytest.fixture(scope="module")
def comfy(tmp_path_factory, vendor_archive, upstream_env):
    """A workspace running the real ComfyUI; yields (ctx, base url, extra root)."""
    archive = vendor_archive("comfyui-")
    env = upstream_env("comfyui", COMFY_REQUIREMENTS)
    tmp = tmp_path_factory.mktemp("comfy")
    extra = tmp / "network-volume"
    ctx = make_workspace(
        tmp / "ws",
        enabled={"comfyui"},
        manifest={"comfyui": {"env": str(env)}},
        settings={"models": {"extra_roots": [str(extra)]}, "media": {"watch": False}},
    )
    ensure_layout(ctx.workspace)
    installed = lorapilot(ctx, "install", "comfyui", "--source-only", "--from", str(archive), timeout=300)
    assert f"from {archive}" in installed.stdout
    checkpoint, lora = _tiny_sd15(env, ctx.workspace.state_dir("comfyui") / "src")
    models = ctx.workspace.models
    shutil.copyfile(checkpoint, models / "checkpoints" / "tiny-sd15.safetensors")
    (extra / "loras").mkdir(parents=True)
    shutil.copyfile(lora, extra / "loras" / "volume_style.safetensors")
    write_model(models / "loras" / "ink_style.safetensors", kohya_lora_sd1())
    with running(ctx):
        wait_ready(ctx, "comfyui", timeout=300)
        yield ctx, f"http://127.0.0.1:{ctx.registry.get('comfyui').port}", extra


def _tiny_sd15(env, src) -> tuple[Path, Path]:
    """The random tiny SD1.5 checkpoint and its LoRA (comfy_tiny_sd15.py), built once per script version."""
    script = Path(__file__).with_name("comfy_tiny_sd15.py")
    key = hashlib.sha256(script.read_bytes()).hexdigest()[:12]
    folder = CACHE_DIR / "models" / f"comfy-tiny-sd15-{key}"
    checkpoint, lora = folder / "tiny-sd15.safetensors", folder / "tiny-lora.safetensors"
    if not (checkpoint.is_file() and lora.is_file()):
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        built = subprocess.run(
            [str(python_of(env)), str(script), str(src), str(staging / checkpoint.name), str(staging / lora.name)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert built.returncode == 0, built.stderr[-3000:]
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    return checkpoint, lora


def test_comfyui_lists_the_store_and_extra_root_models(comfy):
    ctx, base, _ = comfy
    assert "ink_style.safetensors" in httpx.get(f"{base}/models/loras").json()
    assert "volume_style.safetensors" in httpx.get(f"{base}/models/loras").json()  # the extra root
    assert "tiny-sd15.safetensors" in httpx.get(f"{base}/models/checkpoints").json()
    info = httpx.get(f"{base}/object_info/LoraLoader", timeout=30).json()
    choices = info["LoraLoader"]["input"]["required"]["lora_name"][0]
    assert {"ink_style.safetensors", "volume_style.safetensors"} <= set(choices)
    ckpts = httpx.get(f"{base}/object_info/CheckpointLoaderSimple", timeout=30).json()
    assert "tiny-sd15.safetensors" in ckpts["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
    # Its outputs folder is the workspace's (the --output-directory flag ComfyUI read).
    assert (ctx.workspace.outputs / "comfy").is_dir()


def test_comfyui_outputs_land_in_outputs_comfy_and_mediapilot_indexes_them(comfy):
    ctx, base, _ = comfy
    answer = httpx.post(
        f"{base}/prompt",
        json={"prompt": SOLID, "client_id": "upstream-test", "extra_data": {"extra_pnginfo": {"workflow": WORKFLOW}}},
    ).json()
    entry = _history(base, answer["prompt_id"])
    assert entry["status"]["status_str"] == "success", entry["status"]
    saved = entry["outputs"]["2"]["images"][0]
    path = ctx.workspace.outputs / "comfy" / saved.get("subfolder", "") / saved["filename"]
    assert path.is_file()

    lib = MediaLibrary.open(ctx)
    try:
        lib.scan()
        row = lib.index.read().execute("SELECT id FROM media WHERE name = ?", (path.name,)).fetchone()
        assert row is not None, f"{path} not indexed"
        detail = lib.detail(row["id"])
        assert {"prompt", "workflow"} <= set(detail["raw_keys"])
        assert json.loads(lib.raw_chunks(row["id"])["prompt"])["1"]["class_type"] == "EmptyImage"
        # Send it back: the real /prompt takes MediaPilot's body (graph + UI workflow).
        again = send_to_comfy(lib, row["id"], base)
        assert again["node_errors"] == {}
        assert _history(base, again["prompt_id"])["status"]["status_str"] == "success"
    finally:
        lib.close()


def test_a_txt2img_graph_mediapilot_sends_generates_with_the_store_checkpoint_and_extra_root_lora(comfy):
    """An earlier render's graph, sent back by MediaPilot: ComfyUI validates it against what it sees (checkpoint
    and LoRA names), loads the store's checkpoint and the extra root's LoRA, and saves the new image."""
    ctx, base, _ = comfy
    png = mf.png(
        ctx.workspace.outputs / "comfy" / "earlier_00001_.png",
        texts={
            "prompt": json.dumps(_graph("tiny-sd15.safetensors", "volume_style.safetensors")),
            "workflow": json.dumps(WORKFLOW),
        },
    )
    lib = MediaLibrary.open(ctx)
    try:
        lib.scan()
        media_id = lib.index.read().execute("SELECT id FROM media WHERE name = ?", (png.name,)).fetchone()["id"]
        answer = send_to_comfy(lib, media_id, base)
        assert answer["node_errors"] == {} and answer["prompt_id"]
        entry = _history(base, answer["prompt_id"])
        assert entry["status"]["status_str"] == "success", entry["status"]
        saved = entry["outputs"]["8"]["images"][0]
        made = ctx.workspace.outputs / "comfy" / saved.get("subfolder", "") / saved["filename"]
        assert made.name.startswith("lorapilot_") and made.is_file()
        from PIL import Image

        with Image.open(made) as image:
            assert image.size == (64, 64)
        # Every LoRA key found its target in this model ("lora key not loaded" is ComfyUI's complaint otherwise).
        logs = lorapilot(ctx, "logs", "comfyui", "--tail", "400").stdout
        assert "lora key not loaded" not in logs and "Requested to load BaseModel" in logs

        lib.scan()
        row = lib.index.read().execute("SELECT id FROM media WHERE name = ?", (made.name,)).fetchone()
        detail = lib.detail(row["id"])
        assert [lora["name"] for lora in detail["loras"]] == ["volume_style.safetensors"]
        assert int(detail["seed"]) == 7 and detail["steps"] == 1 and detail["sampler"] == "euler"
        assert {"prompt", "workflow"} <= set(detail["raw_keys"])
    finally:
        lib.close()
    # A name the store does not have is refused at validation, before anything runs.
    bad = httpx.post(f"{base}/prompt", json={"prompt": _graph("missing.safetensors", "ink_style.safetensors")})
    assert bad.status_code == 400
    assert "ckpt_name" in json.dumps(bad.json()["node_errors"])

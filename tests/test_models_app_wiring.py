"""Every app reads the store in place: ComfyUI through extra_model_paths.yaml (every root), Kohya through its
config.toml, AI Toolkit through MODELS_PATH, TrainPilot through the store itself. (InvokeAI: test_models_invokeai_sync.)"""

from __future__ import annotations

import os
import tomllib

import yaml

from lorapilot.stack.workspace import init_workspace
from lorapilot.stack.workspace.layout import MODEL_FOLDERS
from lorapilot.tools import run_on_init
from lorapilot.tools.trainpilot.training_bases import list_base_models, list_components
from support import model_files as mf
from support.workspaces import make_workspace

# The folder names ComfyUI's nodes read (folder_paths.py at the pinned ComfyUI, plus latent_upscale_models of
# newer releases); a key outside this set would only make a folder type no node looks in.
COMFY_NAMES = {
    "checkpoints",
    "configs",
    "loras",
    "vae",
    "text_encoders",
    "diffusion_models",
    "clip_vision",
    "style_models",
    "embeddings",
    "diffusers",
    "vae_approx",
    "controlnet",
    "gligen",
    "upscale_models",
    "latent_upscale_models",
    "hypernetworks",
    "photomaker",
    "classifiers",
    "model_patches",
    "audio_encoders",
    "custom_nodes",  # folder_paths registers it too: the workspace's own nodes (apps/comfyui/custom_nodes)
}
COMFY_LEGACY = {"unet": "diffusion_models", "clip": "text_encoders"}  # folder_paths.map_legacy


def comfy_search_paths(yaml_text: str) -> dict[str, set[str]]:
    """What ComfyUI's utils/extra_config.load_extra_path_config registers: folder name -> paths.

    Each value is split on newlines (a `|` block lists several folders), joined to base_path, and the name
    goes through map_legacy, as ComfyUI does.
    """
    registered: dict[str, set[str]] = {}
    for conf in yaml.safe_load(yaml_text).values():
        conf = dict(conf)
        base = conf.pop("base_path", None)
        conf.pop("is_default", None)
        for name, value in conf.items():
            for line in str(value).split("\n"):
                if line:
                    path = os.path.normpath(os.path.join(base, line) if base else line)
                    registered.setdefault(COMFY_LEGACY.get(name, name), set()).add(path)
    return registered


def test_comfyui_reads_every_store_folder_of_every_root(tmp_path):
    roots = ["/mnt/volume-a/models", "/mnt/volume b/models"]
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"extra_roots": roots}})
    init_workspace(ctx, run_on_init)
    text = (ctx.workspace.state_dir("comfyui") / "extra_model_paths.yaml").read_text()
    data = yaml.safe_load(text)
    assert data["lorapilot"]["base_path"] == str(ctx.workspace.models) and data["lorapilot"]["is_default"] is True
    assert [data[f"lorapilot_extra_{i + 1}"]["base_path"] for i in range(2)] == roots

    registered = comfy_search_paths(text)
    assert set(registered) <= COMFY_NAMES, set(registered) - COMFY_NAMES
    for root in [str(ctx.workspace.models), *roots]:
        for folder in MODEL_FOLDERS:
            path = os.path.join(root, folder)
            assert any(path in paths for paths in registered.values()), f"ComfyUI never looks in {path}"
    # The folders ComfyUI reads under another name land where its nodes look for them.
    store = str(ctx.workspace.models)
    assert {os.path.join(store, "controlnet"), os.path.join(store, "t2i_adapter")} <= registered["controlnet"]
    assert {os.path.join(store, "text_encoders"), os.path.join(store, "clip")} <= registered["text_encoders"]
    assert {os.path.join(store, "diffusion_models"), os.path.join(store, "unet")} <= registered["diffusion_models"]
    assert (ctx.workspace.config / "models.toml").exists()  # the one-click manifest, written once


def test_trainers_are_given_the_store(tmp_path):
    extra = tmp_path / "volume"
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"extra_roots": [str(extra)]}})
    init_workspace(ctx, run_on_init)
    models = ctx.workspace.models

    kohya = tomllib.loads((ctx.workspace.state_dir("kohya") / "config.toml").read_text())
    assert kohya["model"]["models_dir"] == str(models / "checkpoints")
    assert kohya["advanced"]["vae_dir"] == str(models / "vae")

    plans = {p.name: p for p in ctx.plan(False)}
    assert plans["ai-toolkit"].env["MODELS_PATH"] == str(models)

    # TrainPilot picks base models and components from every root, in place.
    mf.write_model(models / "checkpoints" / "sdxl.safetensors", mf.sdxl_checkpoint())
    mf.write_model(extra / "checkpoints" / "sd15.safetensors", mf.sd1_checkpoint())
    mf.write_model(extra / "vae" / "ae.safetensors", mf.vae(16))
    mf.write_model(models / "loras" / "style.safetensors", mf.kohya_lora_sd1())
    bases = {b.path: b.family for b in list_base_models(ctx)}
    assert bases == {"checkpoints/sdxl.safetensors": "sdxl", str(extra / "checkpoints" / "sd15.safetensors"): "sd15"}
    assert list_components(ctx, "ae") == [str(extra / "vae" / "ae.safetensors")]

"""A TrainPilot job with ``--trainer kohya`` runs the real sd-scripts ``train_network.py`` (the pinned tree
from ../shared/vendor/) on CPU, offline: 4 steps at 64 px on an SD1-shaped random model.

The queue shows progress and loss parsed from sd-scripts' own log, the LoRA lands in models/loras/
with sd-scripts' ``ss_*`` metadata, and diffusers loads it (kohya key names) onto the same model.
The journey's last step: the real ComfyUI (pinned archive, --cpu, under `lorapilot up`) started on the
same workspace lists the LoRA Kohya made, for its LoraLoader too.
Environment: Python 3.11 + torch 2.13.0 + sd-scripts' requirements.txt, built once under
.cache/upstream/kohya (tests/upstream/_trainers.py)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from test_comfyui_upstream import COMFY_REQUIREMENTS
from upstream_envs import wait_ready

from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from support import tiny_sd
from support.running import lorapilot, running
from support.trainpilot import run_queue_to_the_end
from support.workspaces import make_workspace
from upstream import _trainers

pytestmark = [pytest.mark.upstream, pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(1500)]
STEPS = 4


@pytest.fixture(scope="module")
def sd_scripts():
    """(environment, source tree) of the pinned sd-scripts."""
    src = _trainers.extract("kohya-sd-scripts")
    return _trainers.build_env("kohya", _trainers.requirements_of(src)), src


@pytest.fixture(scope="module")
def comfyui(vendor_archive, upstream_env):
    """(the pinned ComfyUI archive, its cached environment)."""
    return vendor_archive("comfyui-"), upstream_env("comfyui", COMFY_REQUIREMENTS)


def _kohya_profile(ctx):
    profile = build_profile(
        name="kohya-shapes",
        family="sd15",
        quality="quick",
        vram_gb=8,
        trainer="kohya",
        model=ModelRef(base="diffusers/sd1-full-width"),
        dataset_name="shapes",
        dataset=inspect_dataset(ctx.workspace, "shapes"),
    )
    tiny_sd.shrink_profile(profile, steps=STEPS, save_every=2, sample_every=STEPS, sample_steps=2)
    # sd-scripts' SD1 script wants 64 px bucket steps; at 64 px that is one square bucket.
    profile.dataset.min_bucket = profile.dataset.max_bucket = profile.dataset.bucket_step = 64
    profile.optim.optimizer, profile.optim.lr_scheduler, profile.optim.min_snr_gamma = "adamw", "constant", None
    profile.training.mixed_precision, profile.training.gradient_checkpointing = "no", False
    return profile


def test_kohya_job_trains_with_the_real_sd_scripts_and_comfyui_lists_the_lora(
    tmp_path, sd_scripts, comfyui, monkeypatch
):
    env, src = sd_scripts
    comfy_archive, comfy_env = comfyui
    # An air-gapped pod: sd-scripts must find its tokenizer without the hub.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    ctx = make_workspace(
        tmp_path / "ws",
        enabled={"comfyui"},
        manifest={"kohya": {"env": str(env), "src": str(src)}, "comfyui": {"env": str(comfy_env)}},
        settings={"trainpilot": {"poll_interval_s": 0.2}},
    )
    root = ctx.workspace.root
    model = _trainers.sd1_full_width_model(root / "models" / "diffusers" / "sd1-full-width")
    _trainers.square_dataset(root / "datasets" / "shapes")
    job, warnings = actions.submit(ctx, _kohya_profile(ctx))
    assert [w.to_dict() for w in warnings if w.level == "error"] == []

    started = time.monotonic()
    done = run_queue_to_the_end(ctx, timeout=900)
    print(f"\nkohya train_network.py, {STEPS} steps at 64 px: {time.monotonic() - started:.0f} s")
    log = done.log_path.read_text(errors="replace")
    assert done.state == "done", (done.error, log[-4000:])

    # sd-scripts read the tokenizer we put beside the run, not the hub.
    assert "load tokenizer from cache" in log and "tokenizers/openai_clip-vit-large-patch14" in log.replace(
        "\n", ""
    ).replace(" ", "")
    # Progress and loss come from sd-scripts' own tqdm bar ("steps: ... avr_loss=...").
    assert (done.step, done.total) == (STEPS, STEPS) and done.loss is not None and done.loss > 0
    points = actions.job_detail(ctx, job.id)["points"]
    assert [p["step"] for p in points][-1] == STEPS and all(p["loss"] is not None for p in points), points
    detail = actions.job_detail(ctx, job.id)
    assert [s["step"] for s in detail["samples"]] == [STEPS], detail["samples"]

    lora = root / "models" / "loras" / "kohya-shapes.safetensors"
    assert lora.is_file(), sorted(p.name for p in (root / "models" / "loras").iterdir())
    from safetensors import safe_open

    with safe_open(str(lora), "pt") as fh:
        meta, keys = fh.metadata(), list(fh.keys())
    assert (
        meta["ss_network_module"] == "networks.lora"
        and meta["ss_network_dim"] == "4"
        and meta["ss_network_alpha"] == "8.0"
    )
    assert meta["ss_base_model_version"] == "sd_v1" and meta["ss_max_train_steps"] == str(STEPS)
    assert json.loads(meta["ss_tag_frequency"])  # sd-scripts counted our captions
    down = [k for k in keys if k.startswith("lora_unet_") and k.endswith(".lora_down.weight")]
    assert down and not any(k.startswith("lora_te_") for k in keys)  # network_train_unet_only

    _assert_diffusers_applies(model, lora, len(down))
    _assert_comfyui_lists(ctx, comfy_archive, lora.name)


def _assert_comfyui_lists(ctx, archive, lora_name: str) -> None:
    """The real ComfyUI on this workspace sees the LoRA in the shared store (extra_model_paths.yaml)."""
    lorapilot(ctx, "install", "comfyui", "--source-only", "--from", str(archive), timeout=300)
    with running(ctx):
        wait_ready(ctx, "comfyui", timeout=300)
        base = f"http://127.0.0.1:{ctx.registry.get('comfyui').port}"
        assert lora_name in httpx.get(f"{base}/models/loras", timeout=30).json()
        info = httpx.get(f"{base}/object_info/LoraLoader", timeout=30).json()
        assert lora_name in info["LoraLoader"]["input"]["required"]["lora_name"][0]


def _assert_diffusers_applies(model, lora, modules: int) -> None:
    """diffusers reads the kohya-named LoRA onto the same model, and it changes what the UNet predicts."""
    import torch
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(model), safety_checker=None, requires_safety_checker=False)
    torch.manual_seed(0)
    latents, t = torch.randn(1, 4, 8, 8), torch.tensor([500])
    text = pipe.text_encoder(pipe.tokenizer(["tok, red, square"], padding="max_length", return_tensors="pt").input_ids)[
        0
    ]
    with torch.no_grad():
        before = pipe.unet(latents, t, encoder_hidden_states=text).sample
        pipe.load_lora_weights(str(lora.parent), weight_name=lora.name, adapter_name="kohya")
        after = pipe.unet(latents, t, encoder_hidden_states=text).sample
    wrapped = [
        name for name, module in pipe.unet.named_modules() if hasattr(module, "lora_A") and "kohya" in module.lora_A
    ]
    assert len(wrapped) == modules, (len(wrapped), modules)
    assert (before - after).abs().max() > 0

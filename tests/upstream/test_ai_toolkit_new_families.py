"""AI Toolkit's own ``ModelConfig`` (``toolkit/config_modules.py``, pinned tree) reads the model section TrainPilot
renders for Qwen-Image, Wan 2.2, FLUX.2 and Z-Image: the arch that picks the model class, quantization, low_vram
and the VAE path land where meant. (Its model classes cannot be imported on a machine without an NVIDIA driver:
``get_all_models`` imports OmniGen2's Triton layer norm, which asks CUDA for a device at import time; see
test_ai_toolkit_run.py.)"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from lorapilot.tools.trainpilot.adapters import ADAPTERS, RunSpec, TrainerLocation
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from support import model_files as mf
from upstream import _trainers

pytestmark = [pytest.mark.upstream, pytest.mark.slow, pytest.mark.timeout(1800)]

PROBE = textwrap.dedent("""
    import json, sys, yaml
    from toolkit.config_modules import ModelConfig
    m = ModelConfig(**yaml.safe_load(open(sys.argv[1]))["config"]["process"][0]["model"])
    print(json.dumps({"arch": m.arch, "name_or_path": m.name_or_path, "quantize": m.quantize,
                      "quantize_te": m.quantize_te, "low_vram": m.low_vram, "vae_path": m.vae_path,
                      "extras_name_or_path": m.extras_name_or_path, "assistant_lora_path": m.assistant_lora_path}))
""")


@pytest.fixture(scope="module")
def ai_toolkit():
    src = _trainers.extract("ai-toolkit")
    return _trainers.build_env("ai-toolkit", _trainers.ai_toolkit_requirements(src)), src


def _models(root: Path) -> Path:
    models = root / "models"
    for name, index in (
        ("Qwen-Image", {"_class_name": "QwenImagePipeline"}),
        ("Z-Image-Turbo", {"_class_name": "ZImagePipeline"}),
        (
            "Wan2.2-TI2V-5B-Diffusers",
            {"_class_name": "WanPipeline", "transformer_2": [None, None], "expand_timesteps": True},
        ),
    ):
        (models / "diffusers" / name).mkdir(parents=True)
        (models / "diffusers" / name / "model_index.json").write_text(json.dumps(index))
    mf.write_model(models / "diffusion_models" / "flux-2-klein-base-9b.safetensors", mf.flux2_transformer(4096))
    return models


CASES = [
    # family, vram, model, what ModelConfig reads
    (
        "qwenimage",
        24,
        ModelRef(base="diffusers/Qwen-Image"),
        {"arch": "qwen_image", "quantize_te": True, "low_vram": True},
    ),
    (
        "zimage",
        24,
        ModelRef(base="diffusers/Z-Image-Turbo", adapter="loras/zimage_turbo_training_adapter_v1.safetensors"),
        {"arch": "zimage", "quantize_te": False, "low_vram": False},
    ),
    (
        "wan22",
        16,
        ModelRef(base="diffusers/Wan2.2-TI2V-5B-Diffusers"),
        {"arch": "wan22_5b", "quantize_te": True, "low_vram": True},
    ),
    (
        "flux2",
        48,
        ModelRef(base="diffusion_models/flux-2-klein-base-9b.safetensors", vae="vae/flux2-vae.safetensors"),
        # quantize_te unset: ModelConfig takes quantize's value (config_modules.py)
        {"arch": "flux2_klein_9b", "quantize_te": True, "low_vram": False},
    ),
]


@pytest.mark.parametrize("family,vram,model,expected", CASES, ids=[c[0] for c in CASES])
def test_ai_toolkit_model_config_reads_the_new_families(tmp_path, ai_toolkit, family, vram, model, expected):
    env, src = ai_toolkit
    models = _models(tmp_path)
    profile = build_profile(
        name=f"lora-{family}",
        family=family,
        quality="regular",
        vram_gb=vram,
        model=model,
        dataset_name="cats",
        trainer="ai-toolkit",
    )
    spec = RunSpec(
        profile=profile,
        run_dir=tmp_path / "run",
        models_dir=models,
        image_dir=tmp_path / "cats",
        location=TrainerLocation(env=env, src=src),
    )
    job = tmp_path / "job.yaml"
    job.write_text(ADAPTERS["ai-toolkit"].render(spec)["job.yaml"])
    result = _trainers.run_python(env, ["-c", PROBE, str(job)], cwd=src, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    read = json.loads(result.stdout.strip().splitlines()[-1])
    base = str(models / model.base)
    assert read == {
        **expected,
        "name_or_path": base,
        "quantize": profile.training.fp8_base,
        "vae_path": str(models / model.vae) if model.vae else None,
        "extras_name_or_path": base,  # Qwen-Image / Z-Image take text encoder and VAE from the same folder
        "assistant_lora_path": str(models / model.adapter) if model.adapter else None,
    }
    assert yaml.safe_load(job.read_text())["config"]["process"][0]["model"]["arch"] == expected["arch"]

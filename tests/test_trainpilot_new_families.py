"""Qwen-Image, Wan 2.2, FLUX.2 and Z-Image: offered with AI Toolkit and Diffusion Pipe only, each rendered with the
keys those trainers read (checked against the pinned sources), their parts asked for, and their base models
recognised by the model store (tiny safetensors headers and model_index.json files written here)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from lorapilot.tools.models.detect import FAMILIES as STORE_FAMILY_LABELS
from lorapilot.tools.trainpilot.adapters import ADAPTERS, RunSpec, TrainerLocation
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.families import FAMILIES
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.training_bases import detect_family, list_base_models, store_family
from lorapilot.tools.trainpilot.validate import trainer_choices, validate_profile
from support import model_files as mf
from support.trainer_schemas import ai_toolkit_problems, diffusion_pipe_problems
from support.trainpilot import make_train_workspace

NEW = ("qwenimage", "wan22", "flux2", "zimage")


def _spec(tmp_path: Path, trainer: str, family: str, model: ModelRef, vram: int = 24, quality="regular") -> RunSpec:
    profile = build_profile(
        name=f"lora-{family}",
        family=family,
        quality=quality,
        vram_gb=vram,
        model=model,
        dataset_name="cats",
        trainer=trainer,
        trigger_word="mycat",
    )
    return RunSpec(
        profile=profile,
        run_dir=tmp_path / "run",
        models_dir=tmp_path / "models",
        image_dir=tmp_path / "cats",
        location=TrainerLocation(env=tmp_path / "env", src=tmp_path / "src"),
    )


def _index(folder: Path, **index) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def _wan_official(folder: Path, model_type: str = "t2v", dim: int = 5120, experts: bool = True) -> Path:
    """An official Wan 2.2 folder: A14B keeps each expert (config.json + shards) in a subfolder."""
    config = json.dumps({"model_type": model_type, "dim": dim})
    if experts:
        for expert in ("low_noise_model", "high_noise_model"):
            (folder / expert).mkdir(parents=True, exist_ok=True)
            (folder / expert / "config.json").write_text(config)
            mf.write_model(folder / expert / "diffusion_pytorch_model-00001-of-00002.safetensors", mf.wan_transformer())
    else:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(config)
        mf.write_model(folder / "diffusion_pytorch_model.safetensors", mf.wan_transformer(dim=dim, in_dim=48))
    return folder


# ------------------------------------------------------------------ which trainers


def test_the_new_families_are_offered_with_ai_toolkit_and_diffusion_pipe_only():
    for family in NEW:
        offering = {name for name, adapter in ADAPTERS.items() if family in adapter.families}
        assert offering == {"ai-toolkit", "diffusion-pipe"}, family
    assert {f: FAMILIES[f].min_vram for f in NEW} == {"qwenimage": 24, "wan22": 16, "flux2": 24, "zimage": 12}
    # a finished LoRA's card names the model store's family, which lists it
    assert {f: store_family(f) for f in NEW} == {
        "qwenimage": "qwen_image",
        "wan22": "wan",
        "flux2": "flux2",
        "zimage": "zimage",
    }
    assert {store_family(f) for f in NEW} <= set(STORE_FAMILY_LABELS)


@pytest.mark.parametrize("trainer", ["kohya", "native"])
@pytest.mark.parametrize("family", NEW)
def test_kohya_and_native_are_refused_naming_the_trainers_that_can(tmp_path, trainer, family):
    ctx = make_train_workspace(tmp_path)
    profile = build_profile(
        name="x",
        family=family,
        quality="regular",
        vram_gb=48,
        model=ModelRef(base="checkpoints/sd15-base.safetensors"),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
        trainer=trainer,
    )
    errors = [(i.field, i.message) for i in validate_profile(ctx, profile, check_install=False) if i.level == "error"]
    title = ADAPTERS[trainer].title
    assert (
        "trainer",
        f"{title} does not train {FAMILIES[family].title} LoRAs; use AI Toolkit or Diffusion Pipe",
    ) in errors
    choices = {c["name"]: c for c in trainer_choices(ctx, family)}
    assert (
        choices[trainer]["issues"] and not choices["ai-toolkit"]["issues"] and not choices["diffusion-pipe"]["issues"]
    )
    assert choices["ai-toolkit"]["tiers"]["8"].startswith(f"{FAMILIES[family].title} does not fit the 8 GB tier")


# ------------------------------------------------------------------ Diffusion Pipe


def test_diffusion_pipe_qwen_image_reads_the_diffusers_folder(tmp_path):
    spec = _spec(tmp_path, "diffusion-pipe", "qwenimage", ModelRef(base="diffusers/Qwen-Image"))
    files = ADAPTERS["diffusion-pipe"].render(spec)
    main = tomllib.loads(files["main.toml"])
    assert diffusion_pipe_problems(main, tomllib.loads(files["dataset.toml"])) == []
    assert main["model"] == {
        "type": "qwen_image",
        "dtype": "bfloat16",
        "diffusers_path": str(tmp_path / "models" / "diffusers" / "Qwen-Image"),
        "transformer_dtype": "float8",
        "timestep_sample_method": "logit_normal",
    }
    assert main["blocks_to_swap"] == 8  # as examples/qwen_image_24gb_vram.toml
    assert spec.profile.dataset.resolution == 640
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "qwen.safetensors").write_bytes(b"x")
    spec.profile.model.base = "qwen.safetensors"
    assert any(
        i.field == "model.base" and "diffusers folder" in i.message for i in ADAPTERS["diffusion-pipe"].check(spec)
    )


@pytest.mark.parametrize("family,te_type", [("flux2", "flux2"), ("zimage", "lumina2")])
def test_diffusion_pipe_comfy_families_name_transformer_vae_and_text_encoder(tmp_path, family, te_type):
    model = ModelRef(
        base=f"diffusion_models/{family}.safetensors", vae="vae/ae.safetensors", llm="text_encoders/te.safetensors"
    )
    spec = _spec(tmp_path, "diffusion-pipe", family, model)
    files = ADAPTERS["diffusion-pipe"].render(spec)
    main = tomllib.loads(files["main.toml"])
    assert diffusion_pipe_problems(main, tomllib.loads(files["dataset.toml"])) == []
    m = main["model"]
    assert m["type"] == {"flux2": "flux2", "zimage": "z_image"}[family]
    assert m["diffusion_model"].endswith(f"diffusion_models/{family}.safetensors") and m["vae"].endswith(
        "vae/ae.safetensors"
    )
    assert m["text_encoders"] == [
        {"path": str(tmp_path / "models" / "text_encoders" / "te.safetensors"), "type": te_type}
    ]
    # ComfyPipeline casts with diffusion_model_dtype; transformer_dtype would be ignored
    assert "transformer_dtype" not in m
    assert m.get("diffusion_model_dtype") == ("float8" if family == "flux2" else None)
    if family == "flux2":
        assert m["shift"] == 3.0 and m["timestep_sample_method"] == "logit_normal" and main["blocks_to_swap"] == 24
    spec.profile.model.vae = spec.profile.model.llm = None
    errors = {i.field: i.message for i in ADAPTERS["diffusion-pipe"].check(spec) if i.level == "error"}
    assert set(errors) == {"model.vae", "model.llm"}
    assert errors["model.llm"].startswith(f"Diffusion Pipe trains {FAMILIES[family].title} with ")
    main = tomllib.loads(ADAPTERS["diffusion-pipe"].render(spec)["main.toml"])
    assert "text_encoders" not in main["model"]


def test_diffusion_pipe_wan22_trains_the_low_noise_expert_of_the_official_folder(tmp_path):
    folder = _wan_official(tmp_path / "models" / "wan" / "Wan2.2-T2V-A14B")
    spec = _spec(tmp_path, "diffusion-pipe", "wan22", ModelRef(base="wan/Wan2.2-T2V-A14B"))
    files = ADAPTERS["diffusion-pipe"].render(spec)
    main = tomllib.loads(files["main.toml"])
    assert diffusion_pipe_problems(main, tomllib.loads(files["dataset.toml"])) == []
    assert main["model"]["type"] == "wan" and main["model"]["ckpt_path"] == str(folder)
    assert main["model"]["transformer_path"] == str(folder / "low_noise_model")
    assert main["model"]["transformer_dtype"] == "float8" and main["blocks_to_swap"] == 8
    assert [i for i in ADAPTERS["diffusion-pipe"].check(spec) if i.field == "model.base"] == []
    # TI2V 5B: config.json at the top, no expert subfolder
    five = _wan_official(tmp_path / "models" / "wan" / "Wan2.2-TI2V-5B", "ti2v", 3072, experts=False)
    spec.profile.model.base = "wan/Wan2.2-TI2V-5B"
    main = tomllib.loads(ADAPTERS["diffusion-pipe"].render(spec)["main.toml"])
    assert main["model"]["ckpt_path"] == str(five) and "transformer_path" not in main["model"]
    assert [i for i in ADAPTERS["diffusion-pipe"].check(spec) if i.field == "model.base"] == []


def test_diffusion_pipe_keeps_wan_21_and_22_folders_apart(tmp_path):
    _wan_official(tmp_path / "models" / "wan" / "Wan2.2-T2V-A14B")
    old = tmp_path / "models" / "wan" / "Wan2.1-T2V-14B"
    old.mkdir(parents=True)
    (old / "config.json").write_text('{"model_type": "t2v", "dim": 5120}')
    i2v = _wan_official(tmp_path / "models" / "wan" / "Wan2.2-I2V-A14B", "i2v")
    dp = ADAPTERS["diffusion-pipe"]
    spec = _spec(tmp_path, "diffusion-pipe", "wan22", ModelRef(base="wan/Wan2.1-T2V-14B"))
    assert any("official Wan 2.2 checkpoint folder" in i.message for i in dp.check(spec) if i.field == "model.base")
    spec.profile.model.base = f"wan/{i2v.name}"
    assert any("image-to-video" in i.message for i in dp.check(spec) if i.field == "model.base")
    spec21 = _spec(tmp_path, "diffusion-pipe", "wan21", ModelRef(base="wan/Wan2.2-T2V-A14B"))
    assert any("official Wan 2.1 checkpoint folder" in i.message for i in dp.check(spec21) if i.field == "model.base")


# ------------------------------------------------------------------ AI Toolkit


def _job(spec: RunSpec) -> dict:
    job = yaml.safe_load(ADAPTERS["ai-toolkit"].render(spec)["job.yaml"])
    assert ai_toolkit_problems(job) == []
    return job["config"]["process"][0]


def test_ai_toolkit_qwen_image_and_zimage_read_diffusers_folders(tmp_path):
    for family, arch in (("qwenimage", "qwen_image"), ("zimage", "zimage")):
        spec = _spec(tmp_path / family, "ai-toolkit", family, ModelRef(base=f"diffusers/{family}"))
        proc = _job(spec)
        assert proc["model"]["arch"] == arch and proc["train"]["noise_scheduler"] == "flowmatch"
        assert proc["model"].get("quantize_te", False) is (family == "qwenimage")
        assert proc["model"].get("low_vram", False) is (family == "qwenimage")  # as its 24 GB example
        file = spec.models_dir / "single.safetensors"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(b"x")
        spec.profile.model.base = "single.safetensors"
        assert any(
            i.field == "model.base" and "diffusers folder" in i.message for i in ADAPTERS["ai-toolkit"].check(spec)
        )


def test_ai_toolkit_wan22_picks_its_model_class_from_the_diffusers_folder(tmp_path):
    pair = _index(
        tmp_path / "models" / "diffusers" / "Wan2.2-T2V-A14B-Diffusers",
        _class_name="WanPipeline",
        transformer=["diffusers", "WanTransformer3DModel"],
        transformer_2=["diffusers", "WanTransformer3DModel"],
        boundary_ratio=0.875,
    )
    five = _index(
        tmp_path / "models" / "diffusers" / "Wan2.2-TI2V-5B-Diffusers",
        _class_name="WanPipeline",
        transformer_2=[None, None],
        expand_timesteps=True,
    )
    old = _index(tmp_path / "models" / "diffusers" / "Wan2.1-T2V-14B-Diffusers", _class_name="WanPipeline")
    spec = _spec(tmp_path, "ai-toolkit", "wan22", ModelRef(base=f"diffusers/{pair.name}"))
    assert _job(spec)["model"]["arch"] == "wan22_14b"
    warnings = [i.message for i in ADAPTERS["ai-toolkit"].check(spec) if i.level == "warning"]
    assert any("ai-toolkit/wan2.1-vae" in w for w in warnings)
    spec.profile.model.base = f"diffusers/{five.name}"
    assert _job(spec)["model"]["arch"] == "wan22_5b"
    assert not [i for i in ADAPTERS["ai-toolkit"].check(spec) if i.field == "model.base"]
    spec.profile.model.base = f"diffusers/{old.name}"
    assert any(
        "Wan 2.1 -Diffusers folder" in i.message for i in ADAPTERS["ai-toolkit"].check(spec) if i.level == "error"
    )


@pytest.mark.parametrize("width,arch", [(6144, "flux2"), (4096, "flux2_klein_9b"), (3072, "flux2_klein_4b")])
def test_ai_toolkit_flux2_picks_dev_or_klein_from_the_file(tmp_path, width, arch):
    base = mf.write_model(tmp_path / "models" / "diffusion_models" / "flux2.safetensors", mf.flux2_transformer(width))
    spec = _spec(
        tmp_path, "ai-toolkit", "flux2", ModelRef(base="diffusion_models/flux2.safetensors", vae="vae/ae.safetensors")
    )
    proc = _job(spec)
    assert proc["model"]["arch"] == arch and proc["model"]["name_or_path"] == str(base)
    assert proc["model"]["vae_path"] == str(tmp_path / "models" / "vae" / "ae.safetensors")
    assert proc["model"]["quantize"] is True and proc["model"]["quantize_te"] is True
    issues = ADAPTERS["ai-toolkit"].check(spec)
    assert not [i for i in issues if i.level == "error"]
    assert any("text encoder from Hugging Face" in i.message for i in issues if i.level == "warning")
    spec.profile.model.vae = None
    assert any(i.field == "model.vae" and i.level == "warning" for i in ADAPTERS["ai-toolkit"].check(spec))


def test_ai_toolkit_refuses_a_non_flux2_file_or_a_folder_for_flux2(tmp_path):
    mf.write_model(tmp_path / "models" / "diffusion_models" / "flux1.safetensors", mf.flux_transformer())
    spec = _spec(tmp_path, "ai-toolkit", "flux2", ModelRef(base="diffusion_models/flux1.safetensors"))
    assert any(
        "not a FLUX.2 transformer file" in i.message for i in ADAPTERS["ai-toolkit"].check(spec) if i.level == "error"
    )
    _index(tmp_path / "models" / "diffusers" / "flux2", _class_name="Flux2Pipeline")
    spec.profile.model.base = "diffusers/flux2"
    assert any("single transformer file" in i.message for i in ADAPTERS["ai-toolkit"].check(spec) if i.level == "error")


# ------------------------------------------------------------------ the model store's detection


FILES = [
    ("qwenimage", "diffusion_models/qwen_image_bf16.safetensors", mf.qwen_image_transformer),
    ("flux2", "diffusion_models/flux2-dev.safetensors", mf.flux2_transformer),
    ("zimage", "diffusion_models/z_image_turbo_bf16.safetensors", mf.zimage_transformer),
    ("wan22", "diffusion_models/wan2.2_ti2v_5B_fp16.safetensors", lambda: mf.wan_transformer(3072, in_dim=48)),
    ("lumina2", "diffusion_models/lumina_2.safetensors", mf.lumina2_transformer),
    ("flux1", "diffusion_models/flux1-dev.safetensors", mf.flux_transformer),
]


def test_each_new_family_file_is_listed_under_its_family_only(tmp_path):
    ctx = make_train_workspace(tmp_path)
    for _, rel, build in FILES:
        mf.write_model(ctx.workspace.models / rel, build())
    for family, rel, _ in FILES:
        listed = {m.path for m in list_base_models(ctx, family)}
        assert rel in listed, family
        assert not listed & {r for f, r, _ in FILES if f != family}, family
        assert detect_family(ctx.workspace.models / rel) == family


@pytest.mark.parametrize(
    "index,family",
    [
        ({"_class_name": "QwenImagePipeline"}, "qwenimage"),
        ({"_class_name": "Flux2Pipeline"}, "flux2"),
        ({"_class_name": "Flux2KleinPipeline"}, "flux2"),
        ({"_class_name": "ZImagePipeline"}, "zimage"),
        ({"_class_name": "WanPipeline", "transformer_2": ["diffusers", "WanTransformer3DModel"]}, "wan22"),
        ({"_class_name": "WanPipeline", "transformer_2": [None, None], "expand_timesteps": True}, "wan22"),
        ({"_class_name": "WanPipeline"}, "wan21"),
    ],
)
def test_a_diffusers_folder_of_a_new_family_is_recognised(tmp_path, index, family):
    ctx = make_train_workspace(tmp_path)
    folder = _index(ctx.workspace.models / "diffusers" / "base", **index)
    assert detect_family(folder) == family
    assert [(m.path, m.family) for m in list_base_models(ctx, family)] == [("diffusers/base", family)]


def test_official_wan22_folders_are_one_base_each(tmp_path):
    ctx = make_train_workspace(tmp_path)
    _wan_official(ctx.workspace.models / "diffusion_models" / "Wan2.2-T2V-A14B")
    _wan_official(ctx.workspace.models / "diffusion_models" / "Wan2.2-TI2V-5B", "ti2v", 3072, experts=False)
    listed = sorted((m.path, m.kind, m.family) for m in list_base_models(ctx, "wan22"))
    assert listed == [
        ("diffusion_models/Wan2.2-T2V-A14B", "folder", "wan22"),
        ("diffusion_models/Wan2.2-TI2V-5B", "folder", "wan22"),
    ]
    assert [m for m in list_base_models(ctx, "wan21") if "Wan2.2" in m.path] == []
    assert detect_family(ctx.workspace.models / "diffusion_models" / "Wan2.2-T2V-A14B") == "wan22"


def test_a_zimage_file_on_a_lumina2_profile_is_warned_about(tmp_path):
    """Z-Image shares Lumina 2's cap_embedder; its pad tokens keep them apart."""
    ctx = make_train_workspace(tmp_path)
    rel = "diffusion_models/z_image_turbo_bf16.safetensors"
    mf.write_model(ctx.workspace.models / rel, mf.zimage_transformer())
    profile = build_profile(
        name="x",
        family="lumina2",
        quality="regular",
        vram_gb=24,
        model=ModelRef(base=rel),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
        trainer="diffusion-pipe",
    )
    warnings = {
        (i.field, i.message) for i in validate_profile(ctx, profile, check_install=False) if i.level == "warning"
    }
    assert ("model.base", f"models/{rel} looks like Z-Image, not Lumina Image 2.0") in warnings


def test_a_wan_14b_file_is_not_called_wan_21_on_a_wan_22_profile(tmp_path):
    """A14B's expert files share Wan 2.1 14B's layout; an official 2.2 folder on a 2.1 profile is told apart."""
    ctx = make_train_workspace(tmp_path)
    rel = "diffusion_models/wan2.2_t2v_low_noise_14B_fp16.safetensors"
    mf.write_model(ctx.workspace.models / rel, mf.wan_transformer(dim=5120))
    _wan_official(ctx.workspace.models / "diffusion_models" / "Wan2.2-T2V-A14B")

    def looks_like(family: str, base: str) -> list[str]:
        profile = build_profile(
            name="x",
            family=family,
            quality="regular",
            vram_gb=24,
            model=ModelRef(base=base),
            dataset_name="cats",
            dataset=inspect_dataset(ctx.workspace, "cats"),
            trainer="diffusion-pipe",
        )
        issues = validate_profile(ctx, profile, check_install=False)
        return [i.message for i in issues if i.field == "model.base" and "looks like" in i.message]

    assert looks_like("wan22", rel) == []
    assert looks_like("wan21", "diffusion_models/Wan2.2-T2V-A14B") == [
        "models/diffusion_models/Wan2.2-T2V-A14B looks like Wan 2.2 (text-to-video), not Wan 2.1 (text-to-video)"
    ]


@pytest.mark.parametrize("trainer", ["ai-toolkit", "diffusion-pipe"])
def test_zimage_turbo_trains_with_its_training_adapter_merged_in(tmp_path, trainer):
    model = (
        ModelRef(base="diffusers/Z-Image-Turbo")
        if trainer == "ai-toolkit"
        else ModelRef(
            base="diffusion_models/z_image_turbo_bf16.safetensors",
            vae="vae/ae.safetensors",
            llm="text_encoders/qwen_3_4b.safetensors",
        )
    )
    spec = _spec(tmp_path, trainer, "zimage", model)
    adapter = ADAPTERS[trainer]
    warned = [i.message for i in adapter.check(spec) if i.field == "model.adapter"]
    assert len(warned) == 1 and "looks like Z-Image-Turbo" in warned[0] and adapter.title in warned[0]
    spec.profile.model.adapter = "loras/zimage_turbo_training_adapter_v1.safetensors"
    assert [i for i in adapter.check(spec) if i.field == "model.adapter"] == []
    path = str(tmp_path / "models" / "loras" / "zimage_turbo_training_adapter_v1.safetensors")
    if trainer == "ai-toolkit":
        assert _job(spec)["model"]["assistant_lora_path"] == path
    else:
        files = adapter.render(spec)
        main = tomllib.loads(files["main.toml"])
        assert diffusion_pipe_problems(main, tomllib.loads(files["dataset.toml"])) == []
        assert main["model"]["merge_adapters"] == [path]
    other = _spec(
        tmp_path / "q", trainer, "qwenimage", ModelRef(base="diffusers/qwenimage", adapter="loras/x.safetensors")
    )
    assert [i.level for i in adapter.check(other) if i.field == "model.adapter"] == ["warning"]

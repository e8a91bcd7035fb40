"""Validation catches mistakes before a GPU minute is spent; every message names the field."""

from __future__ import annotations

import pytest

from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.validate import ProfileInvalid, ensure_valid, trainer_choices, validate_profile
from support.trainpilot import make_dataset, make_train_workspace, write_safetensors
from support.workspaces import make_workspace


def _profile(ctx, **kw):
    args = dict(
        name="mycat",
        family="sd15",
        quality="regular",
        vram_gb=12,
        model=ModelRef(base="checkpoints/sd15-base.safetensors"),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
        trainer="kohya",
    )
    args.update(kw)
    return build_profile(**args)


def _errors(ctx, profile, **kw):
    return {(i.field, i.message) for i in validate_profile(ctx, profile, **kw) if i.level == "error"}


def test_a_good_profile_has_no_errors(tmp_path):
    ctx = make_train_workspace(tmp_path)
    for trainer in ("kohya", "ai-toolkit", "native"):
        assert _errors(ctx, _profile(ctx, trainer=trainer)) == set()


def test_missing_base_model(tmp_path):
    ctx = make_train_workspace(tmp_path)
    errors = _errors(ctx, _profile(ctx, model=ModelRef(base="checkpoints/nope.safetensors")))
    assert ("model.base", "models/checkpoints/nope.safetensors not found") in errors
    errors = _errors(ctx, _profile(ctx, model=ModelRef(base="../../etc/passwd")))
    assert any(f == "model.base" and "not inside the model store" in m for f, m in errors)


def test_empty_and_uncaptioned_datasets(tmp_path):
    ctx = make_train_workspace(tmp_path)
    (ctx.workspace.datasets / "empty").mkdir()
    make_dataset(ctx.workspace.root, "raw", images=3, captioned=0)
    make_dataset(ctx.workspace.root, "half", images=4, captioned=2)
    errors = _errors(ctx, _profile(ctx, dataset_name="empty", dataset=None))
    assert any(f == "dataset.name" and "is empty" in m for f, m in errors)
    errors = _errors(ctx, _profile(ctx, dataset_name="raw", dataset=None))
    assert any(f == "dataset.name" and "uncaptioned" in m and "3 images" in m for f, m in errors)
    issues = validate_profile(ctx, _profile(ctx, dataset_name="half", dataset=None))
    assert [i.message for i in issues if i.level == "warning" and i.field == "dataset.name"] == [
        "2 of 4 images have no caption (e.g. img02.png, img03.png)"
    ]
    errors = _errors(ctx, _profile(ctx, dataset_name="missing", dataset=None))
    assert any(f == "dataset.name" and "no dataset 'missing'" in m for f, m in errors)


def test_a_native_optimizer_needs_its_package_in_the_trainers_environment(tmp_path):
    import importlib.util
    import sys

    ctx = make_train_workspace(tmp_path)
    for quality in ("quick", "regular", "high"):
        for vram in (8, 24, 48):  # presets pick what the train extra has: no bitsandbytes, no prodigyopt
            assert _profile(ctx, trainer="native", quality=quality, vram_gb=vram).optim.optimizer == "adamw"
    profile = _profile(ctx, trainer="native")
    assert importlib.util.find_spec("bitsandbytes") is None and importlib.util.find_spec("prodigyopt") is None, (
        "this test expects an environment without bitsandbytes and prodigyopt"
    )
    python = tmp_path / "fake-env" / "bin" / "python"  # the native trainer's interpreter in this workspace
    for optimizer, package in (("adamw8bit", "bitsandbytes"), ("prodigy", "prodigyopt")):
        profile.optim.optimizer = optimizer
        assert (
            "optim.optimizer",
            f"{optimizer} needs the {package} package, which the native trainer's environment "
            f"({python}) does not have: choose adamw, or install {package} there",
        ) in _errors(ctx, profile)

    # The same interpreter with the package on its path: no error.
    site = tmp_path / "site"
    (site / "prodigyopt").mkdir(parents=True)
    (site / "prodigyopt" / "__init__.py").write_text("")
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n')
    assert not any(f == "optim.optimizer" for f, _ in _errors(ctx, profile))


def test_resolution_too_big_for_the_tier(tmp_path):
    ctx = make_train_workspace(tmp_path)
    profile = _profile(ctx, vram_gb=8)
    profile.dataset.resolution = 1024
    assert (
        "dataset.resolution",
        "1024 px is too big for Stable Diffusion 1.5 on the 8 GB tier (at most 768 px)",
    ) in _errors(ctx, profile)


def test_trainer_that_does_not_support_the_family(tmp_path):
    ctx = make_train_workspace(tmp_path)
    errors = _errors(ctx, _profile(ctx, trainer="diffusion-pipe"))
    assert (
        "trainer",
        "Diffusion Pipe does not train Stable Diffusion 1.5 LoRAs; use Kohya sd-scripts or AI Toolkit or Native (diffusers + peft)",
    ) in errors
    sd3 = _profile(ctx, family="sd3", vram_gb=24, trainer="native", model=ModelRef(base="diffusers/sd3"))
    assert any(
        f == "trainer" and m.startswith("Native (diffusers + peft) does not train Stable Diffusion 3.5")
        for f, m in _errors(ctx, sd3)
    )


NATIVE_FLUX_FILE = (
    "model.base",
    "the native trainer loads FLUX.1 only from a diffusers folder (with model_index.json); "
    "flux1-dev.safetensors is a single-file checkpoint: choose a FLUX.1 diffusers folder under models/diffusers/, "
    "or train this file with Kohya sd-scripts",
)


def _native_tier(vram):
    return (
        "vram_gb",
        "the native trainer holds FLUX.1 in bf16 without fp8 or block swapping (the transformer alone is about 24 GB), "
        f"so it needs the 48+ GB tier, not {vram} GB; on a smaller card train FLUX.1 with Kohya sd-scripts or AI Toolkit",
    )


def _flux_models(ctx):
    """A FLUX.1 single file and a FLUX.1 diffusers folder in the model store (headers only)."""
    models = ctx.workspace.models
    write_safetensors(
        models / "diffusion_models" / "flux1-dev.safetensors", {"double_blocks.0.img_attn.qkv.weight": [24, 8]}
    )
    (models / "diffusers" / "flux1-dev").mkdir(parents=True)
    (models / "diffusers" / "flux1-dev" / "model_index.json").write_text('{"_class_name": "FluxPipeline"}')


def test_native_flux_needs_a_diffusers_folder_and_the_48gb_tier(tmp_path):
    ctx = make_train_workspace(tmp_path)
    _flux_models(ctx)
    folder = _profile(ctx, family="flux1", vram_gb=48, trainer="native", model=ModelRef(base="diffusers/flux1-dev"))
    assert _errors(ctx, folder) == set()
    assert folder.optim.optimizer == "adamw" and not folder.training.fp8_base and folder.training.blocks_to_swap == 0

    single = _profile(
        ctx, family="flux1", vram_gb=48, trainer="native", model=ModelRef(base="diffusion_models/flux1-dev.safetensors")
    )
    assert _errors(ctx, single) == {NATIVE_FLUX_FILE}
    (ctx.workspace.models / "diffusers" / "no-index").mkdir()
    bare = _profile(ctx, family="flux1", vram_gb=48, trainer="native", model=ModelRef(base="diffusers/no-index"))
    assert any(
        f == "model.base" and "no-index is a folder without model_index.json" in m for f, m in _errors(ctx, bare)
    )

    for vram in (12, 16, 24):
        assert _errors(
            ctx,
            _profile(ctx, family="flux1", vram_gb=vram, trainer="native", model=ModelRef(base="diffusers/flux1-dev")),
        ) == {_native_tier(vram)}
    folder.vram_gb = 8  # below every FLUX.1 tier: the family's own message, not a second one
    assert _errors(ctx, folder) == {("vram_gb", "FLUX.1 does not fit the 8 GB tier; it needs at least 12 GB")}
    # other trainers still take FLUX.1 on 24 GB
    assert not any(
        f == "vram_gb"
        for f, _ in _errors(
            ctx,
            _profile(ctx, family="flux1", vram_gb=24, trainer="ai-toolkit", model=ModelRef(base="diffusers/flux1-dev")),
        )
    )


def test_native_flux_settings_it_cannot_honour(tmp_path):
    ctx = make_train_workspace(tmp_path)
    _flux_models(ctx)
    profile = _profile(
        ctx,
        family="flux1",
        vram_gb=48,
        trainer="native",
        model=ModelRef(base="diffusers/flux1-dev", t5xxl="x.safetensors"),
    )
    profile.training.mixed_precision = "fp16"
    profile.network.train_text_encoder = True
    profile.training.fp8_base, profile.training.blocks_to_swap = True, 4
    profile.optim.min_snr_gamma = 5.0
    assert {f for f, _ in _errors(ctx, profile)} == {
        "training.mixed_precision",
        "network.train_text_encoder",
        "training.fp8_base",
        "training.blocks_to_swap",
        "model.t5xxl",
    }  # x.safetensors does not exist
    assert (
        "training.mixed_precision",
        "the native trainer trains FLUX.1 in bf16 only (FLUX.1 overflows in fp16; float32 weights "
        "need about 48 GB): set bf16, not 'fp16'",
    ) in _errors(ctx, profile)
    warnings = {i.field for i in validate_profile(ctx, profile) if i.level == "warning"}
    assert {"optim.min_snr_gamma", "model.t5xxl"} <= warnings


def test_kohya_refuses_a_flux_diffusers_folder(tmp_path):
    ctx = make_train_workspace(tmp_path)
    _flux_models(ctx)
    profile = _profile(ctx, family="flux1", vram_gb=24, model=ModelRef(base="diffusers/flux1-dev"))
    assert ("model.base", "sd-scripts needs a single-file flux1 checkpoint, not a diffusers folder") in _errors(
        ctx, profile
    )


def test_trainer_choices_say_which_trainer_takes_which_base_and_tier(tmp_path):
    ctx = make_train_workspace(tmp_path)
    _flux_models(ctx)
    single = {c["name"]: c for c in trainer_choices(ctx, "flux1", "diffusion_models/flux1-dev.safetensors")}
    assert single["native"]["issues"] == [
        {"field": NATIVE_FLUX_FILE[0], "message": NATIVE_FLUX_FILE[1], "level": "error"}
    ]
    assert single["kohya"]["issues"] == []
    assert single["native"]["tiers"] == {
        "8": "FLUX.1 does not fit the 8 GB tier; it needs at least 12 GB",
        "12": _native_tier(12)[1],
        "16": _native_tier(16)[1],
        "24": _native_tier(24)[1],
        "48": "",
    }
    assert single["kohya"]["tiers"]["12"] == "" and single["kohya"]["tiers"]["48"] == ""
    folder = {c["name"]: c for c in trainer_choices(ctx, "flux1", "diffusers/flux1-dev")}
    assert folder["native"]["issues"] == [] and [i["field"] for i in folder["kohya"]["issues"]] == ["model.base"]
    sd15 = {c["name"]: c for c in trainer_choices(ctx, "sd15", "checkpoints/sd15-base.safetensors")}
    assert sd15["native"]["issues"] == [] and set(sd15["native"]["tiers"].values()) == {""}
    assert sd15["diffusion-pipe"]["issues"][0]["message"].startswith(
        "Diffusion Pipe does not train Stable Diffusion 1.5"
    )


def test_flux_needs_its_component_files_for_kohya_and_a_tier_that_fits(tmp_path):
    ctx = make_train_workspace(tmp_path)
    profile = _profile(ctx, family="flux1", vram_gb=24)
    errors = _errors(ctx, profile)
    assert {
        ("model.clip_l", "sd-scripts trains FLUX.1 from separate files: set model.clip_l"),
        ("model.t5xxl", "sd-scripts trains FLUX.1 from separate files: set model.t5xxl"),
    } <= errors
    warnings = [i for i in validate_profile(ctx, profile) if i.level == "warning"]
    assert any(i.field == "model.base" and "looks like Stable Diffusion 1.5" in i.message for i in warnings)
    profile.vram_gb = 8
    assert any(f == "vram_gb" and "at least 12 GB" in m for f, m in _errors(ctx, profile))


def test_trainer_not_installed(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"})
    root = ctx.workspace.root
    (root / "models" / "checkpoints").mkdir(parents=True)
    (root / "models" / "checkpoints" / "sd15-base.safetensors").write_bytes(b"x")
    make_dataset(root, "cats")
    errors = _errors(ctx, _profile(ctx))
    assert any(
        f == "trainer" and "Kohya sd-scripts is not installed" in m and "lorapilot install kohya" in m
        for f, m in errors
    )
    assert not any(f == "trainer" for f, _ in _errors(ctx, _profile(ctx), check_install=False))


def test_ensure_valid_reports_every_error_at_once(tmp_path):
    ctx = make_train_workspace(tmp_path)
    profile = _profile(ctx, model=ModelRef(base="checkpoints/nope.safetensors"), dataset_name="missing", dataset=None)
    with pytest.raises(ProfileInvalid) as err:
        ensure_valid(ctx, profile)
    assert {i.field for i in err.value.issues} == {"model.base", "dataset.name"}
    assert "model.base: models/checkpoints/nope.safetensors not found" in str(err.value)


def test_the_support_matrix_covers_the_further_families(tmp_path):
    ctx = make_train_workspace(tmp_path)
    wan = _profile(ctx, family="wan21", vram_gb=24, trainer="native", model=ModelRef(base="wan/Wan2.1-T2V-14B"))
    assert (
        "trainer",
        "Native (diffusers + peft) does not train Wan 2.1 (text-to-video) LoRAs; use AI Toolkit or Diffusion Pipe",
    ) in _errors(ctx, wan)
    chroma = _profile(
        ctx, family="chroma", vram_gb=24, trainer="kohya", model=ModelRef(base="diffusion_models/chroma.safetensors")
    )
    assert ("trainer", "Kohya sd-scripts does not train Chroma LoRAs; use AI Toolkit or Diffusion Pipe") in _errors(
        ctx, chroma
    )
    sd2 = _profile(ctx, family="sd2", vram_gb=12, trainer="diffusion-pipe")
    assert (
        "trainer",
        "Diffusion Pipe does not train Stable Diffusion 2.x LoRAs; use Kohya sd-scripts or AI Toolkit or Native (diffusers + peft)",
    ) in _errors(ctx, sd2)
    tiers = {c["name"]: c["tiers"] for c in trainer_choices(ctx, "lumina2")}
    assert tiers["diffusion-pipe"]["8"] == "Lumina Image 2.0 does not fit the 8 GB tier; it needs at least 12 GB"
    assert tiers["ai-toolkit"]["12"] == ""


def test_a_missing_base_folder_of_a_further_family_is_named(tmp_path):
    ctx = make_train_workspace(tmp_path)
    for family, base in (("wan21", "wan/Wan2.1-T2V-14B"), ("lumina2", "diffusers/Lumina-Image-2.0")):
        profile = _profile(ctx, family=family, vram_gb=24, trainer="ai-toolkit", model=ModelRef(base=base))
        assert ("model.base", f"models/{base} not found") in _errors(ctx, profile)
    chroma = _profile(
        ctx,
        family="chroma",
        vram_gb=24,
        trainer="diffusion-pipe",
        model=ModelRef(base="diffusion_models/chroma.safetensors", diffusers="diffusers/FLUX.1-dev"),
    )
    errors = _errors(ctx, chroma)
    assert ("model.base", "models/diffusion_models/chroma.safetensors not found") in errors
    assert ("model.diffusers", "models/diffusers/FLUX.1-dev not found") in errors


def test_an_sd2_diffusers_folder_is_told_from_sd15(tmp_path):
    from lorapilot.tools.trainpilot.training_bases import detect_family

    ctx = make_train_workspace(tmp_path)
    folder = ctx.workspace.models / "diffusers" / "sd21"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    (folder / "unet" / "config.json").write_text('{"cross_attention_dim": 1024}')
    assert detect_family(folder) == "sd2"
    sd15 = _profile(ctx, model=ModelRef(base="diffusers/sd21"), trainer="ai-toolkit")
    warnings = [i.message for i in validate_profile(ctx, sd15) if i.field == "model.base" and i.level == "warning"]
    assert warnings == ["models/diffusers/sd21 looks like Stable Diffusion 2.x, not Stable Diffusion 1.5"]
    (folder / "unet" / "config.json").write_text('{"cross_attention_dim": 768}')
    assert detect_family(folder) == "sd15"


def test_a_chroma_file_is_told_from_flux(tmp_path):
    from lorapilot.tools.trainpilot.training_bases import list_base_models
    from support.trainpilot import CHROMA_KEYS

    ctx = make_train_workspace(tmp_path)
    _flux_models(ctx)
    write_safetensors(ctx.workspace.models / "diffusion_models" / "chroma-unlocked-v50.safetensors", CHROMA_KEYS)
    chroma = [m.path for m in list_base_models(ctx, "chroma")]
    assert (
        "diffusion_models/chroma-unlocked-v50.safetensors" in chroma
        and "diffusion_models/flux1-dev.safetensors" not in chroma
    )
    assert "diffusion_models/chroma-unlocked-v50.safetensors" not in [m.path for m in list_base_models(ctx, "flux1")]
    on_flux = _profile(
        ctx, family="flux1", vram_gb=24, model=ModelRef(base="diffusion_models/chroma-unlocked-v50.safetensors")
    )
    assert ("model.base", "models/diffusion_models/chroma-unlocked-v50.safetensors looks like Chroma, not FLUX.1") in {
        (i.field, i.message) for i in validate_profile(ctx, on_flux) if i.level == "warning"
    }


def test_an_official_wan_folder_is_one_base_model_and_i2v_is_refused(tmp_path):
    from lorapilot.tools.trainpilot.training_bases import detect_family, list_base_models

    ctx = make_train_workspace(tmp_path)
    folder = ctx.workspace.models / "diffusion_models" / "Wan2.1-T2V-14B"
    for i in (1, 2):
        write_safetensors(
            folder / f"diffusion_pytorch_model-0000{i}-of-00002.safetensors", {"blocks.0.self_attn.q.weight": [8, 8]}
        )
    (folder / "config.json").write_text('{"_class_name": "WanModel", "model_type": "t2v", "dim": 5120}')
    wan = list_base_models(ctx, "wan21")
    assert [(m.path, m.kind, m.family) for m in wan] == [("diffusion_models/Wan2.1-T2V-14B", "folder", "wan21")]
    assert wan[0].size == sum(f.stat().st_size for f in folder.glob("*.safetensors"))
    assert "diffusion_models/Wan2.1-T2V-14B" not in [m.path for m in list_base_models(ctx, "sdxl")]
    assert detect_family(folder) == "wan21"
    profile = _profile(
        ctx,
        family="wan21",
        vram_gb=24,
        trainer="diffusion-pipe",
        model=ModelRef(base="diffusion_models/Wan2.1-T2V-14B"),
    )
    assert {f for f, _ in _errors(ctx, profile)} <= {"trainer"}  # only "not installed" may remain
    (folder / "config.json").write_text('{"_class_name": "WanModel", "model_type": "i2v", "dim": 5120}')
    assert any(f == "model.base" and "Wan i2v checkpoint" in m for f, m in _errors(ctx, profile))

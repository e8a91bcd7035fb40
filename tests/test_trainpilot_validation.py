"""Validation catches mistakes before a GPU minute is spent; every message names the field."""

from __future__ import annotations

import pytest

from lorapilot.trainpilot.datasets import inspect_dataset
from lorapilot.trainpilot.presets import build_profile
from lorapilot.trainpilot.profiles import ModelRef
from lorapilot.trainpilot.validate import ProfileInvalid, ensure_valid, validate_profile
from support.trainpilot import make_dataset, make_train_workspace
from support.workspaces import make_workspace


def _profile(ctx, **kw):
    args = dict(name="mycat", family="sd15", quality="regular", vram_gb=12, model=ModelRef(base="checkpoints/sd15-base.safetensors"),
                dataset_name="cats", dataset=inspect_dataset(ctx.workspace, "cats"), trainer="kohya")
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
        "2 of 4 images have no caption (e.g. img02.png, img03.png)"]
    errors = _errors(ctx, _profile(ctx, dataset_name="missing", dataset=None))
    assert any(f == "dataset.name" and "no dataset 'missing'" in m for f, m in errors)


def test_resolution_too_big_for_the_tier(tmp_path):
    ctx = make_train_workspace(tmp_path)
    profile = _profile(ctx, vram_gb=8)
    profile.dataset.resolution = 1024
    assert ("dataset.resolution", "1024 px is too big for Stable Diffusion 1.5 on the 8 GB tier (at most 768 px)") in _errors(ctx, profile)


def test_trainer_that_does_not_support_the_family(tmp_path):
    ctx = make_train_workspace(tmp_path)
    errors = _errors(ctx, _profile(ctx, trainer="diffusion-pipe"))
    assert ("trainer", "Diffusion Pipe does not train Stable Diffusion 1.5 LoRAs; use Kohya sd-scripts or AI Toolkit or Native (diffusers + peft)") in errors
    flux = _profile(ctx, family="flux1", vram_gb=24, trainer="native",
                    model=ModelRef(base="checkpoints/sd15-base.safetensors"))
    assert any(f == "trainer" and "does not train FLUX.1" in m for f, m in _errors(ctx, flux))


def test_flux_needs_its_component_files_for_kohya_and_a_tier_that_fits(tmp_path):
    ctx = make_train_workspace(tmp_path)
    profile = _profile(ctx, family="flux1", vram_gb=24)
    errors = _errors(ctx, profile)
    assert {("model.clip_l", "sd-scripts trains FLUX.1 from separate files: set model.clip_l"),
            ("model.t5xxl", "sd-scripts trains FLUX.1 from separate files: set model.t5xxl")} <= errors
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
    assert any(f == "trainer" and "Kohya sd-scripts is not installed" in m and "lorapilot install kohya" in m for f, m in errors)
    assert not any(f == "trainer" for f, _ in _errors(ctx, _profile(ctx), check_install=False))


def test_ensure_valid_reports_every_error_at_once(tmp_path):
    ctx = make_train_workspace(tmp_path)
    profile = _profile(ctx, model=ModelRef(base="checkpoints/nope.safetensors"), dataset_name="missing", dataset=None)
    with pytest.raises(ProfileInvalid) as err:
        ensure_valid(ctx, profile)
    assert {i.field for i in err.value.issues} == {"model.base", "dataset.name"}
    assert "model.base: models/checkpoints/nope.safetensors not found" in str(err.value)

"""Profiles and presets: presets per family × quality × VRAM tier, steps scaled to the dataset,
TOML round trips in config/trainpilot/profiles/, and errors that name the field."""

from __future__ import annotations

import pytest

from lorapilot.kit.errors import ConfigError, ConflictError, LorapilotError
from lorapilot.kit.trash import Trash
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile, list_presets, parse_preset_id, scaled_steps
from lorapilot.tools.trainpilot.profiles import ModelRef, ProfileStore
from support.trainpilot import make_dataset, make_train_workspace


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


def test_preset_grid_covers_every_family_quality_and_tier():
    presets = list_presets()
    assert len(presets) == 15 * 3 * 5
    ids = {p.id for p in presets}
    assert {"qwenimage-regular-24gb", "wan22-quick-16gb", "flux2-high-48gb", "zimage-regular-12gb"} <= ids
    assert {"sd2-regular-8gb", "chroma-high-24gb", "wan21-quick-12gb", "lumina2-regular-16gb"} <= ids
    assert {"sd15-quick-8gb", "sdxl-regular-24gb", "flux1-high-48gb"} <= ids
    flux8 = next(p for p in presets if p.id == "flux1-quick-8gb")
    assert not flux8.fits and "12 GB" in flux8.reason
    assert parse_preset_id("sdxl-high-16gb") == ("sdxl", "high", 16)
    with pytest.raises(LorapilotError, match="quality must be one of"):
        parse_preset_id("sdxl-best-16gb")


def test_steps_scale_with_dataset_size_within_bounds():
    small, medium, large = (scaled_steps("regular", "sdxl", n, 1) for n in (5, 20, 200))
    assert small == 500 and medium == 1600 and large == 3000  # lower bound, 80 looks per image, upper bound
    assert scaled_steps("regular", "sdxl", 20, 2) == 800  # a bigger batch sees images faster
    assert scaled_steps("regular", "flux1", 20, 1) == 1200
    assert all(scaled_steps(q, "sd15", n, 1) % 50 == 0 for q in ("quick", "regular", "high") for n in range(0, 300, 7))


def test_preset_fills_every_knob_from_tier_and_quality(tmp_path):
    ctx = make_train_workspace(tmp_path)
    quick8 = _profile(ctx, quality="quick", vram_gb=8)
    high24 = _profile(ctx, quality="high", vram_gb=24, family="sdxl")
    assert quick8.network.rank == 8 and quick8.network.alpha == 4 and quick8.optim.optimizer == "adamw8bit"
    assert (
        quick8.dataset.resolution == 512 and quick8.training.batch_size == 1 and quick8.training.gradient_checkpointing
    )
    assert high24.network.rank == 32 and high24.optim.optimizer == "prodigy" and high24.network.train_text_encoder
    assert high24.training.cache_text is False  # text encoder trains: its outputs cannot be cached
    assert high24.dataset.resolution == 1024 and high24.training.batch_size == 2
    flux12 = _profile(ctx, family="flux1", vram_gb=12, quality="regular", model=ModelRef(base="x"))
    assert flux12.training.fp8_base and flux12.training.blocks_to_swap == 18 and flux12.dataset.resolution == 768
    assert quick8.sample.prompts == ["mycat, a cat number 0, sitting", "mycat, a cat number 1, sitting"]
    with pytest.raises(LorapilotError, match="does not fit the 8 GB tier"):
        _profile(ctx, family="flux1", vram_gb=8)


def test_tagpilot_handoff_prefills_the_profile(tmp_path):
    ctx = make_train_workspace(tmp_path)
    make_dataset(
        ctx.workspace.root,
        "dogs",
        images=3,
        handoff={
            "dataset": "dogs",
            "image_dir": ".",
            "caption_extension": "txt",
            "num_images": 3,
            "captioned": 3,
            "trigger_word": "ohwxdog",
            "repeats": 5,
            "resolution": 768,
        },
    )
    info = inspect_dataset(ctx.workspace, "dogs")
    assert info.trigger_word == "ohwxdog" and info.caption_extension == ".txt" and info.num_captioned == 3
    profile = _profile(ctx, dataset_name="dogs", dataset=info, quality="high", vram_gb=24)
    assert (
        profile.dataset.trigger_word == "ohwxdog" and profile.dataset.repeats == 5 and profile.dataset.resolution == 768
    )
    assert profile.dataset.keep_tokens == 1 and profile.sample.prompts[0] == "ohwxdog"


def test_profiles_round_trip_as_toml(tmp_path):
    ctx = make_train_workspace(tmp_path)
    store = ProfileStore(ctx.workspace)
    profile = _profile(ctx)
    path = store.save(profile)
    assert path == ctx.workspace.config / "trainpilot" / "profiles" / "mycat.toml"
    assert store.load("mycat") == profile and store.names() == ["mycat"]
    with pytest.raises(ConflictError):
        store.save(profile)
    profile.network.rank = 64
    store.save(profile, overwrite=True)
    assert store.load("mycat").network.rank == 64
    item = store.delete("mycat")
    assert store.names() == [] and Trash(ctx.workspace.root).restore(item.id) == path.resolve()


@pytest.mark.parametrize(
    "edit,message",
    [
        (
            lambda t: t.replace("rank = 16", "rank = 0"),
            "network.rank: Input should be greater than or equal to 1 (got 0)",
        ),
        (lambda t: t.replace("[network]", "[network]\nrnak = 4"), "network.rnak: unknown key"),
        (lambda t: t.replace('family = "sd15"', 'family = "sd9"'), "family: Input should be"),
        (lambda t: t.replace("vram_gb = 12", "vram_gb = 10"), "vram_gb must be one of 8, 12, 16, 24, 48"),
        (lambda t: t.replace("[optim]", "[optim"), "not valid TOML"),
    ],
)
def test_a_corrupt_profile_names_the_file_and_field(tmp_path, edit, message):
    ctx = make_train_workspace(tmp_path)
    store = ProfileStore(ctx.workspace)
    path = store.save(_profile(ctx))
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError) as err:
        store.load("mycat")
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    "family,smallest", [("chroma", 12), ("wan21", 12), ("lumina2", 12), ("hidream", 24), ("hunyuanvideo", 16)]
)
def test_further_families_refuse_the_tiers_they_cannot_fit(tmp_path, family, smallest):
    ctx = make_train_workspace(tmp_path)
    below = next(p for p in list_presets() if p.id == f"{family}-quick-8gb")
    assert not below.fits and f"{smallest} GB" in below.reason
    with pytest.raises(LorapilotError, match="does not fit the 8 GB tier"):
        _profile(ctx, family=family, vram_gb=8, trainer="diffusion-pipe", model=ModelRef(base="x"))
    small = _profile(
        ctx, family=family, vram_gb=smallest, quality="regular", trainer="diffusion-pipe", model=ModelRef(base="x")
    )
    # flow-matching transformers: fp8 weights on small cards, no min-SNR, frozen text encoders
    assert small.training.fp8_base and small.optim.min_snr_gamma is None and not small.network.train_text_encoder
    assert (
        small.dataset.resolution
        <= {"chroma": 768, "wan21": 512, "lumina2": 768, "hidream": 1024, "hunyuanvideo": 512}[family]
    )
    assert parse_preset_id(f"{family}-high-48gb") == (family, "high", 48)


def test_sd2_presets_train_a_768_v_base_with_v_prediction(tmp_path):
    ctx = make_train_workspace(tmp_path)
    sd2 = _profile(
        ctx,
        family="sd2",
        vram_gb=12,
        quality="high",
        model=ModelRef(base="checkpoints/v2-1_768-ema-pruned.safetensors"),
    )
    assert sd2.model.v_prediction and sd2.dataset.resolution == 768 and sd2.optim.min_snr_gamma == 5.0
    assert not _profile(ctx).model.v_prediction  # SD1.5 predicts noise
    path = ProfileStore(ctx.workspace).save(sd2)
    assert "v_prediction = true" in path.read_text() and ProfileStore(ctx.workspace).load("mycat") == sd2

"""A Kohya job on an offline pod: sd-scripts reads its CLIP tokenizers from ``--tokenizer_cache_dir``
(library/strategy_base.py, ``_load_tokenizer``) before it asks the hub, so the adapter renders that
option and fills it from the base model's own tokenizer folders.

Found by the upstream tier (tests/upstream/test_kohya_train.py): without it train_network.py fails
at start with no network, looking for ``openai/clip-vit-large-patch14``."""

from __future__ import annotations

import tomllib
from pathlib import Path

from lorapilot.tools.trainpilot.adapters import ADAPTERS, RunSpec, TrainerLocation
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from support.trainer_schemas import kohya_run_problems


def _spec(tmp_path: Path, family: str, base: str) -> RunSpec:
    profile = build_profile(
        name="lora",
        family=family,
        quality="quick",
        vram_gb=24,
        model=ModelRef(base=base),
        dataset_name="cats",
        trainer="kohya",
    )
    return RunSpec(
        profile=profile,
        run_dir=tmp_path / "run",
        models_dir=tmp_path / "models",
        image_dir=tmp_path / "cats",
        location=TrainerLocation(env=tmp_path / "env", src=tmp_path / "src"),
    )


def _tokenizer_folder(path: Path, marker: str) -> None:
    path.mkdir(parents=True)
    (path / "vocab.json").write_text(f'{{"{marker}": 0}}')
    (path / "merges.txt").write_text("#version: 0.2\n")


def test_run_config_names_a_tokenizer_cache_that_sd_scripts_reads(tmp_path):
    spec = _spec(tmp_path, "sd15", "checkpoints/sd15.safetensors")
    run = tomllib.loads(ADAPTERS["kohya"].render(spec)["run.toml"])
    assert run["model"]["tokenizer_cache_dir"] == str(spec.run_dir / "tokenizers")
    assert kohya_run_problems("train_network.py", run) == []


def test_sdxl_base_model_tokenizers_land_where_sd_scripts_looks(tmp_path):
    base = tmp_path / "models" / "diffusers" / "my-sdxl"
    _tokenizer_folder(base / "tokenizer", "first")
    _tokenizer_folder(base / "tokenizer_2", "second")
    spec = _spec(tmp_path, "sdxl", "diffusers/my-sdxl")
    ADAPTERS["kohya"].write_config(spec)
    cache = spec.run_dir / "tokenizers"
    assert (cache / "openai_clip-vit-large-patch14" / "vocab.json").read_text() == '{"first": 0}'
    assert (cache / "laion_CLIP-ViT-bigG-14-laion2B-39B-b160k" / "vocab.json").read_text() == '{"second": 0}'
    assert sorted(p.name for p in cache.iterdir()) == [
        "laion_CLIP-ViT-bigG-14-laion2B-39B-b160k",
        "openai_clip-vit-large-patch14",
    ]


def test_sd2_tokenizer_uses_sd_scripts_v2_id_and_a_filled_cache_is_kept(tmp_path):
    base = tmp_path / "models" / "diffusers" / "sd2"
    _tokenizer_folder(base / "tokenizer", "v2")
    spec = _spec(tmp_path, "sd2", "diffusers/sd2")
    target = spec.run_dir / "tokenizers" / "stabilityai_stable-diffusion-2"
    assert ADAPTERS["kohya"].fill_tokenizer_cache(spec) == [target]
    # A resumed run keeps the tokenizer it started with (sd-scripts may have saved one there itself).
    (target / "vocab.json").write_text('{"kept": 0}')
    assert ADAPTERS["kohya"].fill_tokenizer_cache(spec) == []
    assert (target / "vocab.json").read_text() == '{"kept": 0}'


def test_single_file_checkpoint_leaves_the_cache_to_sd_scripts(tmp_path):
    (tmp_path / "models" / "checkpoints").mkdir(parents=True)
    (tmp_path / "models" / "checkpoints" / "sd15.safetensors").write_bytes(b"")
    spec = _spec(tmp_path, "sd15", "checkpoints/sd15.safetensors")
    ADAPTERS["kohya"].write_config(spec)
    assert not (spec.run_dir / "tokenizers").exists()


def test_bucket_steps_sd_scripts_refuses_are_reported_before_the_run(tmp_path):
    # Seen in the upstream tier: train_network.py asserts bucket_reso_steps % 64 == 0 after loading the dataset.
    spec = _spec(tmp_path, "sd15", "checkpoints/sd15.safetensors")
    spec.profile.dataset.bucket_step = 32
    issues = [i for i in ADAPTERS["kohya"].check(spec) if i.field == "dataset.bucket_step"]
    assert (
        [i.level for i in issues] == ["error"]
        and "multiples of 64" in issues[0].message
        and "got 32" in issues[0].message
    )
    sdxl = _spec(tmp_path, "sdxl", "checkpoints/sdxl.safetensors")
    sdxl.profile.dataset.bucket_step = 32
    assert [i for i in ADAPTERS["kohya"].check(sdxl) if i.field == "dataset.bucket_step"] == []

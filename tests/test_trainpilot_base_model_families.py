"""TrainPilot's base-model picker and validation take each file's family from the model store's detection,
for every family TrainPilot trains (single files and diffusers folders)."""

from __future__ import annotations

import json

import pytest

from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.training_bases import detect_family, list_base_models
from lorapilot.tools.trainpilot.validate import validate_profile
from support import model_files as mf
from support.trainpilot import make_train_workspace

FILES = [
    ("chroma", "diffusion_models/chroma-unlocked-v50.safetensors", mf.chroma_transformer),
    ("wan21", "diffusion_models/wan2.1_t2v_1.3B.safetensors", mf.wan_transformer),
    ("lumina2", "diffusion_models/lumina_2.safetensors", mf.lumina2_transformer),
    ("hidream", "diffusion_models/hidream_i1_full.safetensors", mf.hidream_transformer),
    ("hunyuanvideo", "diffusion_models/hunyuan_video_t2v_720p.safetensors", mf.hunyuan_video_transformer),
    ("ltxvideo", "checkpoints/ltx-video-2b-v0.9.safetensors", lambda: mf.as_checkpoint(mf.ltxv_transformer())),
    ("flux1", "diffusion_models/flux1-dev.safetensors", mf.flux_transformer),
]


def test_each_family_file_is_listed_under_its_trainpilot_family(tmp_path):
    ctx = make_train_workspace(tmp_path)
    for _, rel, build in FILES:
        mf.write_model(ctx.workspace.models / rel, build())
    for family, rel, _ in FILES:
        listed = list_base_models(ctx, family)
        assert rel in [m.path for m in listed], family
        others = {m.path for m in listed} & {r for f, r, _ in FILES if f != family}
        assert not others, f"{family} lists {others}"
        assert detect_family(ctx.workspace.models / rel) == family


@pytest.mark.parametrize(
    "pipeline,family",
    [
        ("HiDreamImagePipeline", "hidream"),
        ("HunyuanVideoPipeline", "hunyuanvideo"),
        ("LTXPipeline", "ltxvideo"),
        ("ChromaPipeline", "chroma"),
        ("WanPipeline", "wan21"),
        ("Lumina2Pipeline", "lumina2"),
    ],
)
def test_a_diffusers_folder_takes_the_store_family_of_its_pipeline(tmp_path, pipeline, family):
    ctx = make_train_workspace(tmp_path)
    folder = ctx.workspace.models / "diffusers" / "base"
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline}))
    assert detect_family(folder) == family
    assert [(m.path, m.family) for m in list_base_models(ctx, family)] == [("diffusers/base", family)]


def test_a_hunyuan_video_file_on_a_flux_profile_is_warned_about(tmp_path):
    """HunyuanVideo's double/single blocks look like FLUX.1's; the store's token-refiner rule keeps them apart."""
    ctx = make_train_workspace(tmp_path)
    rel = "diffusion_models/hunyuan_video_t2v_720p.safetensors"
    mf.write_model(ctx.workspace.models / rel, mf.hunyuan_video_transformer())
    profile = build_profile(
        name="x",
        family="flux1",
        quality="regular",
        vram_gb=24,
        model=ModelRef(base=rel),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
        trainer="ai-toolkit",
    )
    warnings = {(i.field, i.message) for i in validate_profile(ctx, profile) if i.level == "warning"}
    assert ("model.base", f"models/{rel} looks like HunyuanVideo, not FLUX.1") in warnings

"""Datasets holding video clips in TrainPilot: Diffusion Pipe renders frame_buckets for the video families;
every other trainer/family is refused by name. Clips are real ones made by ffmpeg in the test."""

from __future__ import annotations

import os
import re
import tarfile
import tomllib
from pathlib import Path

import pytest

from lorapilot.kit.videofiles import CLIP_EXTENSIONS
from lorapilot.tools.trainpilot.adapters import ADAPTERS, RunSpec, TrainerLocation
from lorapilot.tools.trainpilot.adapters.diffusion_pipe import FRAMERATE
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.validate import validate_profile
from support.clips import make_clip
from support.trainer_schemas import diffusion_pipe_problems
from support.trainpilot import make_dataset, make_train_workspace

_VIDEO_MODELS = {
    "wan21": ModelRef(base="wan/Wan2.1-T2V-14B"),
    "wan22": ModelRef(base="wan/Wan2.2-T2V-A14B"),
    "hunyuanvideo": ModelRef(
        base="diffusion_models/hunyuan_video_720_cfgdistill_fp8_e4m3fn.safetensors",
        vae="vae/hunyuan_video_vae_bf16.safetensors",
        llm="text_encoders/llava-llama-3-8b-text-encoder-tokenizer",
        clip_l="text_encoders/clip-vit-large-patch14",
    ),
    "ltxvideo": ModelRef(base="checkpoints/ltx-video-2b-v0.9.1.safetensors", diffusers="diffusers/LTX-Video"),
}


def _clip_dataset(root: Path, name: str = "vids") -> Path:
    """Two captioned stills, a 2 s clip (captioned) and a 0.5 s clip (uncaptioned)."""
    folder = make_dataset(root, name, images=2)
    make_clip(folder / "walk.mp4")
    (folder / "walk.txt").write_text("mycat walking")
    make_clip(folder / "blink.webm", seconds=0.5, scene_cut=False)
    return folder


def _dp_spec(tmp_path: Path, family: str, image_dir: Path) -> RunSpec:
    profile = build_profile(
        name=f"lora-{family}",
        family=family,
        quality="quick",
        vram_gb=24,
        model=_VIDEO_MODELS[family],
        dataset_name=image_dir.name,
        trainer="diffusion-pipe",
        trigger_word="mycat",
    )
    return RunSpec(
        profile=profile,
        run_dir=tmp_path / "run",
        models_dir=tmp_path / "models",
        image_dir=image_dir,
        location=TrainerLocation(env=tmp_path / "env", src=tmp_path / "src"),
        tensorboard_root=tmp_path / "tb",
    )


@pytest.mark.parametrize("family", sorted(FRAMERATE))
def test_diffusion_pipe_renders_frame_buckets_for_clips(tmp_path, family):
    folder = _clip_dataset(tmp_path)
    if family == "wan22":  # the official A14B folder: Diffusion Pipe trains its low-noise expert
        expert = tmp_path / "models" / "wan" / "Wan2.2-T2V-A14B" / "low_noise_model"
        expert.mkdir(parents=True)
        (expert / "config.json").write_text('{"model_type": "t2v", "dim": 5120}')
    spec = _dp_spec(tmp_path, family, folder)
    rendered = ADAPTERS["diffusion-pipe"].render(spec)
    dataset, main = tomllib.loads(rendered["dataset.toml"]), tomllib.loads(rendered["main.toml"])
    assert diffusion_pipe_problems(main, dataset) == []  # only keys Diffusion Pipe's pinned source reads
    # walk.mp4 lasts 2 s: 32 frames at Wan's 16 fps, 48 at HunyuanVideo's 24, 50 at LTX's 25; the longest
    # ladder bucket it covers is 25 or 33. blink.webm (0.5 s: 8, 12, 12 frames) gets none at 16 fps.
    expected = {"wan21": [1, 25], "wan22": [1, 25], "hunyuanvideo": [1, 9, 33], "ltxvideo": [1, 9, 33]}[family]
    assert dataset["frame_buckets"] == expected
    assert dataset["directory"] == [{"path": str(folder), "num_repeats": spec.profile.dataset.repeats}]
    warnings = [i.message for i in ADAPTERS["diffusion-pipe"].check(spec) if i.field == "dataset.name"]
    if family in ("wan21", "wan22"):
        assert warnings == [
            "1 clip(s) are too short for a frame bucket and Diffusion Pipe skips them (e.g. blink.webm: 8 frames at 16 fps)"
        ]
    else:
        assert warnings == []


def test_diffusion_pipe_still_dataset_keeps_the_image_bucket_only(tmp_path):
    folder = make_dataset(tmp_path, "stills", images=2)
    dataset = tomllib.loads(ADAPTERS["diffusion-pipe"].render(_dp_spec(tmp_path, "wan21", folder))["dataset.toml"])
    assert dataset["frame_buckets"] == [1]


def test_diffusion_pipe_names_a_clip_ffprobe_cannot_read(tmp_path):
    folder = make_dataset(tmp_path, "vids", images=1)
    (folder / "broken.mov").write_bytes(b"junk")
    issues = ADAPTERS["diffusion-pipe"].check(_dp_spec(tmp_path, "wan21", folder))
    assert [(i.level, i.message) for i in issues if i.field == "dataset.name"] == [
        ("error", "cannot read clip broken.mov: ffprobe: Invalid data found when processing input")
    ]


def _clip_errors(ctx, trainer: str, family: str, model: ModelRef, vram: int = 24) -> list[str]:
    profile = build_profile(
        name="v", family=family, quality="quick", vram_gb=vram, model=model, dataset_name="vids", trainer=trainer
    )
    return [
        i.message for i in validate_profile(ctx, profile) if i.field == "dataset.name" and "video clip" in i.message
    ]


def test_validation_refuses_clips_for_trainers_that_read_stills_only(tmp_path):
    ctx = make_train_workspace(tmp_path)
    _clip_dataset(ctx.workspace.root)
    info = inspect_dataset(ctx.workspace, "vids")
    assert (info.num_images, info.num_clips, info.num_captioned, info.clips) == (2, 2, 3, ["blink.webm", "walk.mp4"])
    sd15 = ModelRef(base="checkpoints/sd15-base.safetensors")
    frames_hint = "extract frames into a still dataset (lorapilot tagpilot frames vids --every N --into NEW)"
    assert _clip_errors(ctx, "kohya", "sd15", sd15, 12) == [
        f"dataset 'vids' holds 2 video clip(s) (e.g. blink.webm, walk.mp4): Kohya sd-scripts trains on still images only; {frames_hint}"
    ]
    (native,) = _clip_errors(ctx, "native", "sd15", sd15, 12)
    assert "Native (diffusers + peft) trains on still images only" in native
    (ai_toolkit,) = _clip_errors(ctx, "ai-toolkit", "wan21", ModelRef(base="diffusers/wan21"))
    assert "AI Toolkit reads clips only in a separate num_frames > 1 dataset entry" in ai_toolkit
    assert "its pinned Wan 2.1 example says it does not support video datasets" in ai_toolkit
    assert "train with Diffusion Pipe, or extract frames" in ai_toolkit
    (dp_sdxl,) = _clip_errors(ctx, "diffusion-pipe", "sdxl", ModelRef(base="checkpoints/sdxl.safetensors"))
    assert "Diffusion Pipe trains SDXL on still images only" in dp_sdxl
    assert _clip_errors(ctx, "diffusion-pipe", "wan21", _VIDEO_MODELS["wan21"]) == []
    # Captions are counted over images and clips: blink.webm is the one missing.
    profile = build_profile(
        name="v", family="wan21", quality="quick", vram_gb=24, model=_VIDEO_MODELS["wan21"], dataset_name="vids"
    )
    assert "1 of 4 images and clips have no caption (e.g. blink.webm)" in [
        i.message for i in validate_profile(ctx, profile.model_copy(update={"trainer": "diffusion-pipe"}))
    ]


def _vendor_source(archive_glob: str, member_suffix: str) -> str:
    vendor = Path(os.environ.get("LORAPILOT_VENDOR_DIR") or Path(__file__).parents[2] / "shared" / "vendor")
    archives = sorted(vendor.glob(archive_glob))
    if not archives:
        pytest.skip(f"no {archive_glob} in {vendor} (set LORAPILOT_VENDOR_DIR)")
    with tarfile.open(archives[0]) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(member_suffix))
        return tar.extractfile(member).read().decode()


def test_frame_rates_and_clip_suffixes_match_the_pinned_sources():
    """The frame rates Diffusion Pipe counts clip frames with, and the suffixes AI Toolkit reads as video."""
    for family, module in {"wan21": "models/wan/wan.py", "hunyuanvideo": "models/hunyuan_video.py"}.items():
        source = _vendor_source("diffusion-pipe-*.tar.gz", module)
        assert re.search(rf"^\s+framerate = {FRAMERATE[family]}$", source, re.M), family
    assert re.search(r"^\s+framerate = 25$", _vendor_source("diffusion-pipe-*.tar.gz", "models/ltx_video.py"), re.M)
    dataset = _vendor_source("diffusion-pipe-*.tar.gz", "utils/dataset.py")
    assert "self.directory_config.get('frame_buckets', self.dataset_config.get('frame_buckets', [1]))" in dataset
    assert "frames = int(self.framerate * meta['duration'])" in dataset
    loader = _vendor_source("ai-toolkit-*.tar.gz", "toolkit/data_loader.py")
    listed = re.search(r"^video_extensions = \[(.*)\]$", loader, re.M)
    assert listed and set(CLIP_EXTENSIONS) <= set(re.findall(r"'([^']+)'", listed.group(1)))
    assert (
        "elif self.is_video:\n                # only look for videos\n                extensions = video_extensions"
        in loader
    )
    wan21_example = _vendor_source("ai-toolkit-*.tar.gz", "config/examples/train_lora_wan21_14b_24gb.yaml")
    assert "AI-Toolkit does not currently support video datasets, we will train on 1 frame at a time" in wan21_example

"""Settings of one native training run (the TOML file passed with ``--config``).

The bounds of each setting come from :mod:`lorapilot.tools.trainpilot.bounds`, shared with profiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from lorapilot.kit.models import StrictModel
from lorapilot.kit.tomlconfig import load_toml_model
from lorapilot.tools.trainpilot import bounds as b


class ModelSettings(StrictModel):
    # A diffusers folder (model_index.json) or a single-file checkpoint.
    pretrained: Path
    family: Literal["sd1", "sd2", "sdxl", "flux1"] = "sd1"
    vae: Path | None = None


class DatasetSettings(StrictModel):
    image_dir: Path
    caption_extension: b.CaptionExtension = ".txt"
    resolution: b.Resolution = 512
    buckets: bool = True
    bucket_step: b.BucketStep = 64
    min_bucket: b.BucketSide = 256
    max_bucket: b.BucketSide = 1024
    repeats: b.Repeats = 1
    caption_dropout: b.Fraction = 0.0
    shuffle_tags: bool = False
    keep_tokens: b.KeepTokens = 0
    cache_latents: bool = True
    cache_text: bool = True
    trigger_word: str = ""  # recorded in the LoRA as modelspec.trigger_phrase (captions are not changed)


class NetworkSettings(StrictModel):
    rank: b.Rank = 16
    alpha: b.Alpha = 16
    dropout: b.NetworkDropout = 0.0
    train_text_encoder: bool = False
    text_encoder_lr: b.LearningRate | None = None
    target_modules: list[str] = Field(default_factory=lambda: ["to_q", "to_k", "to_v", "to_out.0"])
    # Modules of the CLIP text encoders that get a LoRA when train_text_encoder is on.
    text_encoder_target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "out_proj"])


class OptimSettings(StrictModel):
    optimizer: Literal["adamw", "adamw8bit", "prodigy", "adafactor", "sgd"] = "adamw"
    learning_rate: b.LearningRate = 1e-4
    lr_scheduler: b.LrScheduler = "constant"
    warmup_steps: b.NonNegativeInt = 0
    weight_decay: b.NonNegative = 1e-2
    max_grad_norm: b.NonNegative = 1.0
    min_snr_gamma: b.MinSnrGamma | None = None
    noise_offset: b.NonNegative = 0.0


class TrainingSettings(StrictModel):
    steps: b.Steps
    batch_size: b.BatchSize = 1
    gradient_accumulation: b.Accumulation = 1
    mixed_precision: b.MixedPrecision = "no"
    gradient_checkpointing: bool = False
    seed: int = 42
    attention: Literal["auto", "sdpa", "xformers"] = "auto"


class SaveSettings(StrictModel):
    every_n_steps: b.EveryNSteps = 500
    state_every_n_steps: b.EveryNSteps | None = None
    keep_last: b.KeepLast = 3  # resumable state folders kept; LoRA checkpoints are all kept
    precision: Literal["fp32", "fp16", "bf16"] = "fp16"  # dtype of the saved LoRA tensors


class SampleSettings(StrictModel):
    prompts: list[str] = Field(default_factory=list)
    every_n_steps: b.EveryNSteps = 250
    seed: int = 1234  # prompt i uses seed + i, the same at every sampled step
    negative_prompt: str = ""
    steps: b.SampleSteps = 20
    guidance: b.Guidance = 7.0
    width: b.ImageSide | None = None
    height: b.ImageSide | None = None


class NativeTrainConfig(StrictModel):
    """One run of the native trainer."""

    name: b.RunName
    output_dir: Path
    model: ModelSettings
    dataset: DatasetSettings
    network: NetworkSettings = NetworkSettings()
    optim: OptimSettings = OptimSettings()
    training: TrainingSettings
    save: SaveSettings = SaveSettings()
    sample: SampleSettings = SampleSettings()
    logging_dir: Path | None = None  # TensorBoard event files

    @model_validator(mode="after")
    def _buckets(self) -> NativeTrainConfig:
        if self.dataset.min_bucket > self.dataset.max_bucket:
            raise ValueError("dataset.min_bucket must not exceed dataset.max_bucket")
        if self.model.family == "flux1" and self.network.train_text_encoder:
            raise ValueError(
                "network.train_text_encoder: not supported for family flux1 (the T5/CLIP encoders stay frozen)"
            )
        return self


def load_config(path: Path) -> NativeTrainConfig:
    """Read a run TOML; errors name the file and the field.

    Relative paths in the file are relative to the file's folder, not to the working directory.
    """
    path = Path(path)
    config = load_toml_model(path, NativeTrainConfig)
    return resolve_paths(config, path.resolve().parent)


def resolve_paths(config: NativeTrainConfig, base: Path) -> NativeTrainConfig:
    """A copy of ``config`` with every relative path made absolute against ``base``."""

    def fix(value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else base / value

    return config.model_copy(
        update={
            "output_dir": fix(config.output_dir),
            "logging_dir": fix(config.logging_dir),
            "model": config.model.model_copy(
                update={"pretrained": fix(config.model.pretrained), "vae": fix(config.model.vae)}
            ),
            "dataset": config.dataset.model_copy(update={"image_dir": fix(config.dataset.image_dir)}),
        }
    )

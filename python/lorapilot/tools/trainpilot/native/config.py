"""Settings of one native training run (the TOML file passed with ``--config``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lorapilot.kit.tomlconfig import load_toml_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSettings(_Strict):
    # A diffusers folder (model_index.json) or a single-file checkpoint.
    pretrained: Path
    family: Literal["sd1", "sd2", "sdxl", "flux1"] = "sd1"
    vae: Path | None = None


class DatasetSettings(_Strict):
    image_dir: Path
    caption_extension: str = ".txt"
    resolution: int = Field(default=512, ge=16, le=4096)
    buckets: bool = True
    bucket_step: int = Field(default=64, ge=8)
    min_bucket: int = Field(default=256, ge=16)
    max_bucket: int = Field(default=1024, ge=16)
    repeats: int = Field(default=1, ge=1)
    caption_dropout: float = Field(default=0.0, ge=0, le=1)
    shuffle_tags: bool = False
    keep_tokens: int = Field(default=0, ge=0)
    cache_latents: bool = True
    cache_text: bool = True
    trigger_word: str = ""  # recorded in the LoRA as modelspec.trigger_phrase (captions are not changed)


class NetworkSettings(_Strict):
    rank: int = Field(default=16, ge=1, le=1024)
    alpha: float = Field(default=16, gt=0)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    train_text_encoder: bool = False
    text_encoder_lr: float | None = None
    target_modules: list[str] = Field(default_factory=lambda: ["to_q", "to_k", "to_v", "to_out.0"])
    # Modules of the CLIP text encoders that get a LoRA when train_text_encoder is on.
    text_encoder_target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "out_proj"]
    )


class OptimSettings(_Strict):
    optimizer: Literal["adamw", "adamw8bit", "prodigy", "adafactor", "sgd"] = "adamw"
    learning_rate: float = Field(default=1e-4, gt=0)
    lr_scheduler: Literal["constant", "cosine", "linear", "constant_with_warmup"] = "constant"
    warmup_steps: int = Field(default=0, ge=0)
    weight_decay: float = Field(default=1e-2, ge=0)
    max_grad_norm: float = Field(default=1.0, ge=0)
    min_snr_gamma: float | None = Field(default=None, gt=0)
    noise_offset: float = Field(default=0.0, ge=0)


class TrainingSettings(_Strict):
    steps: int = Field(ge=1)
    batch_size: int = Field(default=1, ge=1)
    gradient_accumulation: int = Field(default=1, ge=1)
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    gradient_checkpointing: bool = False
    seed: int = 42
    attention: Literal["auto", "sdpa", "xformers"] = "auto"


class SaveSettings(_Strict):
    every_n_steps: int = Field(default=500, ge=1)
    state_every_n_steps: int | None = Field(default=None, ge=1)
    keep_last: int = Field(default=3, ge=1)  # resumable state folders kept; LoRA checkpoints are all kept
    precision: Literal["fp32", "fp16", "bf16"] = "fp16"  # dtype of the saved LoRA tensors


class SampleSettings(_Strict):
    prompts: list[str] = Field(default_factory=list)
    every_n_steps: int = Field(default=250, ge=1)
    seed: int = 1234  # prompt i uses seed + i, the same at every sampled step
    negative_prompt: str = ""
    steps: int = Field(default=20, ge=1)
    guidance: float = 7.0
    width: int | None = Field(default=None, ge=16)
    height: int | None = Field(default=None, ge=16)


class NativeTrainConfig(_Strict):
    """One run of the native trainer."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
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
    def _buckets(self) -> "NativeTrainConfig":
        if self.dataset.min_bucket > self.dataset.max_bucket:
            raise ValueError("dataset.min_bucket must not exceed dataset.max_bucket")
        if self.model.family == "flux1" and self.network.train_text_encoder:
            raise ValueError("network.train_text_encoder: not supported for family flux1 (the T5/CLIP encoders stay frozen)")
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

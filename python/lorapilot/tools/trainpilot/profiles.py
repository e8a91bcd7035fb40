"""Training profiles: every setting of one LoRA run, saved as TOML in ``config/trainpilot/profiles/``.

A profile is trainer-neutral; each adapter renders it into its trainer's own files. Presets
(:mod:`lorapilot.tools.trainpilot.presets`) fill one in; every field stays editable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import Field, model_validator

from lorapilot.kit.errors import ConflictError, NotFoundError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.models import CheckedModel
from lorapilot.kit.safepath import check_name
from lorapilot.kit.tomlconfig import load_toml_model, validate_model
from lorapilot.stack.workspace.layout import Workspace

from . import bounds as b
from .families import FAMILIES, QUALITIES, VRAM_TIERS

NAME_PATTERN = b.NAME_PATTERN
TrainerName = Literal["kohya", "ai-toolkit", "diffusion-pipe", "native"]
FamilyName = Literal[
    "sd15",
    "sd2",
    "sdxl",
    "sd3",
    "flux1",
    "chroma",
    "wan21",
    "lumina2",
    "hidream",
    "hunyuanvideo",
    "ltxvideo",
    "qwenimage",
    "wan22",
    "flux2",
    "zimage",
]
TRAINERS: tuple[str, ...] = ("kohya", "ai-toolkit", "diffusion-pipe", "native")
assert set(FamilyName.__args__) == set(FAMILIES)  # one list of families


class ModelRef(CheckedModel):
    """Base model files, as paths relative to ``models/`` (e.g. ``checkpoints/sd15.safetensors``)."""

    base: str = Field(min_length=1)
    vae: str | None = None
    # FLUX.1 and SD3 split files: text encoders and the autoencoder live next to the transformer.
    clip_l: str | None = None
    clip_g: str | None = None
    t5xxl: str | None = None
    ae: str | None = None
    # A diffusers folder a split-file transformer borrows its text encoder and VAE from (Chroma on
    # Diffusion Pipe: a FLUX.1 folder), and a separate LLM text encoder (Lumina 2's Gemma, Wan's UMT5, HiDream's
    # Llama 3.1 8B Instruct folder).
    diffusers: str | None = None
    llm: str | None = None
    # A training adapter LoRA merged into a step-distilled base while training, and taken out for samples
    # (Z-Image-Turbo: ostris' zimage_turbo_training_adapter): AI Toolkit's assistant_lora_path, Diffusion Pipe's
    # merge_adapters.
    adapter: str | None = None
    # The base predicts v, not noise (SD 2.x 768-v, v-pred SDXL finetunes): trainers must be told.
    v_prediction: bool = False


class DatasetRef(CheckedModel):
    name: str = Field(min_length=1)  # datasets/<name>/
    caption_extension: b.CaptionExtension = ".txt"
    repeats: b.Repeats = 1
    resolution: b.Resolution = 512
    buckets: bool = True
    min_bucket: b.BucketSide = 256
    max_bucket: b.BucketSide = 2048
    bucket_step: b.BucketStep = 64
    caption_dropout: b.Fraction = 0.0
    shuffle_tags: bool = False
    keep_tokens: b.KeepTokens = 0
    trigger_word: str = ""


class RegularizationRef(CheckedModel):
    """A regularization (class) image set: ``datasets/<name>/``, which TagPilot marks as one.

    Kohya renders it as an ``is_reg`` subset with ``prior_loss_weight``, AI Toolkit as an ``is_reg``
    dataset with ``train.reg_weight``, the native trainer as its prior-preservation loss.
    """

    name: str = Field(min_length=1)
    repeats: b.Repeats = 1
    weight: float = Field(default=1.0, gt=0, le=10)  # prior_loss_weight
    class_tokens: str = ""  # caption of class images that have no caption file (kohya's class folder name)


class NetworkSettings(CheckedModel):
    rank: b.Rank = 16
    alpha: b.Alpha = 16
    dropout: b.NetworkDropout = 0.0
    train_text_encoder: bool = False


class OptimSettings(CheckedModel):
    optimizer: Literal["adamw", "adamw8bit", "prodigy", "adafactor"] = "adamw8bit"
    learning_rate: b.LearningRate = 1e-4
    text_encoder_lr: b.LearningRate | None = None
    lr_scheduler: b.LrScheduler = "constant"
    warmup_steps: b.NonNegativeInt = 0
    weight_decay: b.NonNegative = 0.01
    max_grad_norm: b.NonNegative = 1.0
    min_snr_gamma: b.MinSnrGamma | None = None
    noise_offset: b.NonNegative = 0.0


class TrainingSettings(CheckedModel):
    steps: b.Steps
    batch_size: b.BatchSize = 1
    gradient_accumulation: b.Accumulation = 1
    mixed_precision: b.MixedPrecision = "bf16"
    gradient_checkpointing: bool = True
    cache_latents: bool = True
    cache_text: bool = True
    seed: int = 42
    # Low-VRAM switches for the large transformers (FLUX.1, SD3).
    fp8_base: bool = False
    blocks_to_swap: int = Field(default=0, ge=0, le=60)
    num_gpus: int = Field(default=1, ge=1, le=64)
    # Several machines (docs/beyond-one-gpu.md): num_gpus per machine; every machine runs the same job
    # and they meet at ``rendezvous`` (host:port reachable from all, usually the first machine's).
    num_nodes: int = Field(default=1, ge=1, le=1024)
    rendezvous: str = Field(default="", pattern=r"^$|^[A-Za-z0-9._\[\]:-]+:\d{1,5}$")
    # What to do while inference apps hold the GPU's memory; None: ``[trainpilot] busy_gpu``.
    busy_gpu: Literal["wait", "stop-apps", "refuse"] | None = None

    @model_validator(mode="after")
    def _rendezvous_for_several_nodes(self) -> TrainingSettings:
        if self.num_nodes > 1 and not self.rendezvous:
            raise ValueError(
                f"rendezvous: num_nodes is {self.num_nodes}; set the host:port every machine reaches (the first machine's)"
            )
        return self


class SaveSettings(CheckedModel):
    every_n_steps: b.EveryNSteps = 250
    keep_last: b.KeepLast = 3


class SampleSettings(CheckedModel):
    prompts: list[str] = Field(default_factory=list)
    negative: str = ""
    every_n_steps: b.EveryNSteps = 250
    seed: int = 1234
    steps: b.SampleSteps = 20
    guidance: b.Guidance = 7.0
    width: b.ImageSide | None = None
    height: b.ImageSide | None = None


class Profile(CheckedModel):
    """Everything one training run needs, independent of the trainer that runs it."""

    name: b.RunName
    trainer: TrainerName = "kohya"
    family: FamilyName
    quality: Literal["quick", "regular", "high", "custom"] = "custom"
    vram_gb: int = 24
    model: ModelRef
    dataset: DatasetRef
    regularization: RegularizationRef | None = None
    network: NetworkSettings = NetworkSettings()
    optim: OptimSettings = OptimSettings()
    training: TrainingSettings
    save: SaveSettings = SaveSettings()
    sample: SampleSettings = SampleSettings()
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if self.vram_gb not in VRAM_TIERS:
            raise ValueError(f"vram_gb must be one of {', '.join(map(str, VRAM_TIERS))} (got {self.vram_gb})")
        if self.dataset.min_bucket > self.dataset.max_bucket:
            raise ValueError("dataset.min_bucket must not exceed dataset.max_bucket")
        return self

    def to_toml(self) -> str:
        """The profile as TOML (unset optional fields are left out)."""
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


assert set(QUALITIES) < set(Profile.model_fields["quality"].annotation.__args__)


def profile_from_dict(data: dict, source: Path | None = None) -> Profile:
    """Validate ``data`` as a profile; errors name ``source`` and each bad field."""
    return validate_model(source, Profile, data)


class ProfileStore:
    """The saved profiles of one workspace."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.dir = ws.config / "trainpilot" / "profiles"

    def path(self, name: str) -> Path:
        check_name(name, "profile name")
        return self.dir / f"{name}.toml"

    def names(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.stem for p in self.dir.glob("*.toml") if not p.name.startswith("."))

    def load(self, name: str) -> Profile:
        """Read one profile; a corrupt file raises ConfigError naming the file and field."""
        path = self.path(name)
        if not path.is_file():
            raise NotFoundError(f"no profile {name!r} in {self.dir}")
        return load_toml_model(path, Profile)

    def save(self, profile: Profile, overwrite: bool = False) -> Path:
        """Write ``profile`` as ``<name>.toml`` atomically; refuses to replace one unless ``overwrite``."""
        path = self.path(profile.name)
        if path.exists() and not overwrite:
            raise ConflictError(f"profile {profile.name!r} exists ({path}); pass overwrite to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, profile.to_toml())
        return path

    def delete(self, name: str):
        """Move a profile to the workspace trash (restorable)."""
        from lorapilot.kit.trash import Trash

        path = self.path(name)
        if not path.is_file():
            raise NotFoundError(f"no profile {name!r} in {self.dir}")
        return Trash(self.ws.root).move(path, source="trainpilot")

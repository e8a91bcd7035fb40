"""Training profiles: every setting of one LoRA run, saved as TOML in ``config/trainpilot/profiles/``.

A profile is trainer-neutral; each adapter renders it into its trainer's own files. Presets
(:mod:`lorapilot.tools.trainpilot.presets`) fill one in; every field stays editable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lorapilot.kit.errors import ConflictError, NotFoundError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.safepath import check_name
from lorapilot.kit.tomlconfig import load_toml_model, validate_model
from lorapilot.stack.workspace.layout import Workspace

from .families import FAMILIES, QUALITIES, VRAM_TIERS

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
TrainerName = Literal["kohya", "ai-toolkit", "diffusion-pipe", "native"]
FamilyName = Literal["sd15", "sd2", "sdxl", "sd3", "flux1", "chroma", "wan21", "lumina2", "hidream",
                     "hunyuanvideo", "ltxvideo"]
TRAINERS: tuple[str, ...] = ("kohya", "ai-toolkit", "diffusion-pipe", "native")
assert set(FamilyName.__args__) == set(FAMILIES)  # one list of families


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelRef(_Strict):
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
    # The base predicts v, not noise (SD 2.x 768-v, v-pred SDXL finetunes): trainers must be told.
    v_prediction: bool = False


class DatasetRef(_Strict):
    name: str = Field(min_length=1)  # datasets/<name>/
    caption_extension: str = Field(default=".txt", pattern=r"^\.[A-Za-z0-9_.-]{1,16}$")
    repeats: int = Field(default=1, ge=1, le=1000)
    resolution: int = Field(default=512, ge=64, le=4096, multiple_of=8)
    buckets: bool = True
    min_bucket: int = Field(default=256, ge=16)
    max_bucket: int = Field(default=2048, ge=16)
    bucket_step: int = Field(default=64, ge=8)
    caption_dropout: float = Field(default=0.0, ge=0, le=1)
    shuffle_tags: bool = False
    keep_tokens: int = Field(default=0, ge=0)
    trigger_word: str = ""


class NetworkSettings(_Strict):
    rank: int = Field(default=16, ge=1, le=1024)
    alpha: float = Field(default=16, gt=0)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    train_text_encoder: bool = False


class OptimSettings(_Strict):
    optimizer: Literal["adamw", "adamw8bit", "prodigy", "adafactor"] = "adamw8bit"
    learning_rate: float = Field(default=1e-4, gt=0)
    text_encoder_lr: float | None = Field(default=None, gt=0)
    lr_scheduler: Literal["constant", "cosine", "linear", "constant_with_warmup"] = "constant"
    warmup_steps: int = Field(default=0, ge=0)
    weight_decay: float = Field(default=0.01, ge=0)
    max_grad_norm: float = Field(default=1.0, ge=0)
    min_snr_gamma: float | None = Field(default=None, gt=0)
    noise_offset: float = Field(default=0.0, ge=0)


class TrainingSettings(_Strict):
    steps: int = Field(ge=1, le=1_000_000)
    batch_size: int = Field(default=1, ge=1, le=256)
    gradient_accumulation: int = Field(default=1, ge=1)
    mixed_precision: Literal["no", "fp16", "bf16"] = "bf16"
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
    def _rendezvous_for_several_nodes(self) -> "TrainingSettings":
        if self.num_nodes > 1 and not self.rendezvous:
            raise ValueError(f"rendezvous: num_nodes is {self.num_nodes}; set the host:port every machine reaches (the first machine's)")
        return self


class SaveSettings(_Strict):
    every_n_steps: int = Field(default=250, ge=1)
    keep_last: int = Field(default=3, ge=1)


class SampleSettings(_Strict):
    prompts: list[str] = Field(default_factory=list)
    negative: str = ""
    every_n_steps: int = Field(default=250, ge=1)
    seed: int = 1234
    steps: int = Field(default=20, ge=1, le=200)
    guidance: float = Field(default=7.0, ge=0)
    width: int | None = Field(default=None, ge=64, le=4096)
    height: int | None = Field(default=None, ge=64, le=4096)


class Profile(_Strict):
    """Everything one training run needs, independent of the trainer that runs it."""

    name: str = Field(pattern=NAME_PATTERN)
    trainer: TrainerName = "kohya"
    family: FamilyName
    quality: Literal["quick", "regular", "high", "custom"] = "custom"
    vram_gb: int = 24
    model: ModelRef
    dataset: DatasetRef
    network: NetworkSettings = NetworkSettings()
    optim: OptimSettings = OptimSettings()
    training: TrainingSettings
    save: SaveSettings = SaveSettings()
    sample: SampleSettings = SampleSettings()
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "Profile":
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

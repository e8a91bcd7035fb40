"""The user's settings file, ``config/lorapilot.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import warnings

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from lorapilot.kit.tomlconfig import load_toml_model

SETTINGS_TEMPLATE = """\
# LoRA Pilot settings. Every key is optional; delete a line to get the default back.
# See README.md ("Configuration") for the full list.

# Address services listen on. Use "127.0.0.1" to keep everything on this machine.
# host = "0.0.0.0"

# [manager]
# port = 7870          # process-compose API / supervisord XML-RPC, always on 127.0.0.1

# [components.comfyui]
# port = 5555
# autostart = true
# enabled = true
# env = { PYTORCH_CUDA_ALLOC_CONF = "expandable_segments:True" }

# [controlpilot]
# auth = "auto"        # "always": ask for the password on 127.0.0.1 too
# upload_limit_mb = 51200

# [models]
# extra_roots = ["/mnt/network-volume/models"]

# [mediapilot]
# extra_roots = ["/mnt/network-volume/renders"]   # indexed beside outputs/
# watch = true                                      # keep the gallery fresh while ControlPilot runs
# trash_keep_days = 30                              # "empty trash" removes items older than this
"""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentOverride(_Strict):
    """Per-component changes the user may make without editing component.toml."""

    port: int | None = Field(default=None, ge=1, le=65535)
    autostart: bool | None = None
    enabled: bool = True
    env: dict[str, str] = Field(default_factory=dict)


class ManagerSettings(_Strict):
    port: int = Field(default=7870, ge=1, le=65535)


class ModelsSettings(_Strict):
    extra_roots: list[str] = Field(default_factory=list)

    @field_validator("extra_roots")
    @classmethod
    def _absolute_and_distinct(cls, value: list[str]) -> list[str]:
        """Extra model roots are absolute folders (a network volume), each listed once."""
        for root in value:
            if not root.startswith("/"):
                raise ValueError(f"{root!r} must be an absolute path")
        if len(set(value)) != len(value):
            raise ValueError("a root is listed twice")
        return value


class ControlPilotSettings(_Strict):
    """``[controlpilot]``: the dashboard's auth, uploads and telemetry."""

    # "auto": login required when bound to a non-loopback address; "always": on loopback too.
    auth: Literal["auto", "always"] = "auto"
    session_hours: float = Field(default=24 * 14, gt=0)
    upload_limit_mb: int = Field(default=50 * 1024, ge=1)
    telemetry_interval_s: float = Field(default=5, ge=1, le=60)


class CopilotSettings(_Strict):
    """``[copilot]``: the Copilot sidecar (see lorapilot.tools.copilot)."""

    permit_allow_all: bool = False  # let chats ask for --allow-all-tools/-paths/-urls
    default_timeout_s: float = Field(default=600, gt=0, le=86400)
    max_timeout_s: float = Field(default=3600, gt=0, le=86400)
    default_cwd: str = Field(default="outputs", min_length=1)  # where a chat runs unless it names a folder


class TrainPilotSettings(_Strict):
    """``[trainpilot]``: the training queue (see README, "TrainPilot")."""

    worker: bool = True  # drive the queue from inside ControlPilot (else: `lorapilot trainpilot worker`)
    gpus: list[str] | None = None  # GPU ids jobs may use; default every GPU NVML sees, "cpu" without one
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    webhook_url: str = ""  # or TRAINPILOT_WEBHOOK_URL in secrets.env
    webhook_format: Literal["json", "discord", "ntfy"] = "json"
    webhook_events: list[Literal["done", "failed", "cancelled"]] = Field(default_factory=lambda: ["done", "failed"])
    stop_command: list[str] = Field(default_factory=list)  # argv run once the queue has run empty
    stop_delay_s: float = Field(default=60, ge=0)


class MediaSettings(_Strict):
    """``[mediapilot]`` (the old name ``[media]`` is still read): folders indexed beside ``outputs/`` and the trash policy."""

    extra_roots: list[str] = Field(default_factory=list)
    watch: bool = True  # keep the index fresh while ControlPilot runs
    trash_keep_days: float = Field(default=30, ge=0)  # what "empty trash" removes unless told "all"


VLM_DEFAULT_PROMPT = (
    "Describe this image as a training caption for a diffusion model: one paragraph, "
    "concrete visual details (subject, clothing, pose, setting, lighting, style), no preamble."
)


class VLMSettings(BaseModel):
    """Defaults for the vision-language captioner; a job may override each."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = ""
    prompt: str = VLM_DEFAULT_PROMPT
    max_tokens: int = Field(default=300, ge=1, le=8192)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_side: int = Field(default=1024, ge=64, le=4096)
    timeout_s: float = Field(default=120.0, gt=0)


class TagPilotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The WD14 model folder (model.onnx + selected_tags.csv), absolute or relative to the workspace.
    wd14_model_dir: str = ""
    vlm: VLMSettings = VLMSettings()


# Sections renamed to their tool's name: old name -> new name. The old name is still read for one
# release (with a note); giving both is an error, since one would silently win.
OLD_SECTION_NAMES = {"media": "mediapilot"}


class Settings(_Strict):
    """Everything in ``config/lorapilot.toml``."""

    host: str = "0.0.0.0"
    manager: ManagerSettings = ManagerSettings()
    components: dict[str, ComponentOverride] = Field(default_factory=dict)
    models: ModelsSettings = ModelsSettings()
    controlpilot: ControlPilotSettings = ControlPilotSettings()
    copilot: CopilotSettings = CopilotSettings()
    trainpilot: TrainPilotSettings = TrainPilotSettings()
    mediapilot: MediaSettings = MediaSettings()
    tagpilot: TagPilotSettings = TagPilotSettings()
    _deprecations: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _old_section_names(cls, data, handler):
        notes = []
        if isinstance(data, dict):
            data = dict(data)
            for old, new in OLD_SECTION_NAMES.items():
                if old not in data:
                    continue
                if new in data:
                    raise ValueError(f"[{old}] and [{new}] are the same section ([{old}] is its old name): "
                                     f"keep only [{new}]")
                data[new] = data.pop(old)
                notes.append(f"[{old}] is now called [{new}]; rename the section (the old name is read "
                             f"until the next release)")
        settings = handler(data)
        settings._deprecations = notes
        return settings

    @property
    def deprecations(self) -> list[str]:
        """Notes about old names this file still uses."""
        return list(self._deprecations)


def load_settings(path: Path) -> Settings:
    """Load the settings file; a missing file means all defaults."""
    path = Path(path)
    if not path.exists():
        return Settings()
    settings = load_toml_model(path, Settings)
    for note in settings.deprecations:
        warnings.warn(f"{path}: {note}", FutureWarning, stacklevel=2)  # FutureWarning: shown to users
    return settings

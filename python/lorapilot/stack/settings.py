"""The user's settings file, ``config/lorapilot.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
# trusted_proxies = []  # reverse proxies whose X-Forwarded-For is believed, e.g. ["127.0.0.1/32"]

# [models]
# extra_roots = ["/mnt/network-volume/models"]

# [media]
# extra_roots = ["/mnt/network-volume/renders"]   # indexed beside outputs/
# watch = true                                      # keep the gallery fresh while ControlPilot runs
# trash_keep_days = 30                              # "empty trash" removes items older than this
# api_allowed_roots = []                            # outside the workspace, what the web UI may add as a root
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
    # Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For / -Proto ControlPilot believes.
    # Empty (the default): those headers are ignored and the peer address is the client.
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {entry!r} is not an IP address or CIDR range") from None
        return value


class CopilotSettings(_Strict):
    """``[copilot]``: the Copilot sidecar (see lorapilot.tools.copilot)."""

    permit_allow_all: bool = False  # let chats ask for --allow-all-tools/-paths/-urls
    default_timeout_s: float = Field(default=600, gt=0, le=86400)
    max_timeout_s: float = Field(default=3600, gt=0, le=86400)
    default_cwd: str = Field(default="outputs", min_length=1)  # where a chat runs unless it names a folder


class TrainPilotSettings(_Strict):
    """``[trainpilot]``: the training queue (see README, "TrainPilot")."""

    worker: bool = True  # drive the queue from inside ControlPilot (else: `lorapilot train worker`)
    gpus: list[str] | None = None  # GPU ids jobs may use; default every GPU NVML sees, "cpu" without one
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    webhook_url: str = ""  # or TRAINPILOT_WEBHOOK_URL in secrets.env
    webhook_format: Literal["json", "discord", "ntfy"] = "json"
    webhook_events: list[Literal["done", "failed", "cancelled"]] = Field(default_factory=lambda: ["done", "failed"])
    stop_command: list[str] = Field(default_factory=list)  # argv run once the queue has run empty
    stop_delay_s: float = Field(default=60, ge=0)


class MediaSettings(_Strict):
    """MediaPilot: folders indexed beside ``outputs/`` and the trash policy."""

    extra_roots: list[str] = Field(default_factory=list)
    # Folders outside the workspace that ControlPilot's API may add as roots (they and what lies
    # below them). Anything else outside the workspace only the CLI or this file can add.
    api_allowed_roots: list[str] = Field(default_factory=list)
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


class Settings(_Strict):
    """Everything in ``config/lorapilot.toml``."""

    host: str = "0.0.0.0"
    manager: ManagerSettings = ManagerSettings()
    components: dict[str, ComponentOverride] = Field(default_factory=dict)
    models: ModelsSettings = ModelsSettings()
    controlpilot: ControlPilotSettings = ControlPilotSettings()
    copilot: CopilotSettings = CopilotSettings()
    trainpilot: TrainPilotSettings = TrainPilotSettings()
    media: MediaSettings = MediaSettings()
    tagpilot: TagPilotSettings = TagPilotSettings()


def load_settings(path: Path) -> Settings:
    """Load the settings file; a missing file means all defaults."""
    path = Path(path)
    if not path.exists():
        return Settings()
    return load_toml_model(path, Settings)

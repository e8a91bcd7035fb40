"""The user's settings file, ``config/lorapilot.toml``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from lorapilot.kit.models import StrictModel
from lorapilot.kit.tomlconfig import load_toml_model

SETTINGS_TEMPLATE = """\
# LoRA Pilot settings. Every key is optional; delete a line to get the default back.
# Every key, its default and its meaning: docs/configuration.md in the LoRA Pilot repository.

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

# [mediapilot]
# extra_roots = ["/mnt/network-volume/renders"]   # indexed beside outputs/
# watch = true                                      # keep the gallery fresh while ControlPilot runs
# trash_keep_days = 30                              # "empty trash" removes items older than this
# api_allowed_roots = []                            # outside the workspace, what the web UI may add as a root
"""


class ComponentOverride(StrictModel):
    """Per-component changes the user may make without editing component.toml."""

    port: int | None = Field(default=None, ge=1, le=65535)  # the service's port (default: its component.toml)
    autostart: bool | None = None  # start with `lorapilot up` (default: its component.toml)
    enabled: bool = True  # false: never rendered, started or shown
    env: dict[str, str] = Field(default_factory=dict)  # extra environment variables for its process


class ManagerSettings(StrictModel):
    """``[manager]``: the process manager (process-compose or supervisord)."""

    # its API (process-compose) or XML-RPC (supervisord), on 127.0.0.1 only
    port: int = Field(default=7870, ge=1, le=65535)


class ModelsSettings(StrictModel):
    """``[models]``: the shared model store (models/)."""

    extra_roots: list[str] = Field(default_factory=list)  # absolute folders listed beside models/ (a network volume)
    civitai_url: str = ""  # CivitAI's base URL (search, pulls, updates); "" = $CIVITAI_ENDPOINT or civitai.com
    hf_url: str = ""  # the Hugging Face Hub's base URL; "" = $HF_ENDPOINT or https://huggingface.co

    @field_validator("civitai_url", "hf_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """A base URL is http(s)://host[:port][/path], or empty for the default."""
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/")

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


SYNC_AREAS = ("loras", "datasets", "outputs", "trainpilot-db")
SYNC_EXCLUDE = ("*.part", "*.part.json", "*.sync-part", "*.sync-part.json", "*/.incoming/*", "*.lock")


class SyncSettings(StrictModel):
    """``[sync]``: ``lorapilot sync push|pull`` to S3-compatible storage (keys: SYNC_ACCESS_KEY_ID /
    SYNC_SECRET_ACCESS_KEY in secrets.env)."""

    endpoint_url: str = ""  # an S3-compatible endpoint (MinIO, R2, B2, Wasabi...); "" = AWS S3
    region: str = "us-east-1"
    bucket: str = ""  # required to sync
    prefix: str = "lorapilot"  # keys are <prefix>/<path in the workspace>
    areas: list[str] = Field(default_factory=lambda: list(SYNC_AREAS))  # of: loras, datasets, outputs, trainpilot-db
    include: list[str] = Field(default_factory=list)  # globs on the workspace path; empty = all of the areas
    exclude: list[str] = Field(default_factory=lambda: list(SYNC_EXCLUDE))  # globs left out (path or file name)
    multipart_mb: int = Field(default=64, ge=5, le=5120)  # files this big go up in resumable parts of this size

    @field_validator("areas")
    @classmethod
    def _known_areas(cls, value: list[str]) -> list[str]:
        """Each area is one of loras, datasets, outputs, trainpilot-db."""
        for area in value:
            if area not in SYNC_AREAS:
                raise ValueError(f"unknown area {area!r}: use {', '.join(SYNC_AREAS)}")
        return value

    @field_validator("prefix")
    @classmethod
    def _clean_prefix(cls, value: str) -> str:
        """A key prefix without leading or trailing slashes and no '..'."""
        value = value.strip("/")
        if ".." in value.split("/"):
            raise ValueError(f"{value!r} must not contain '..'")
        return value


class ControlPilotSettings(StrictModel):
    """``[controlpilot]``: the dashboard's auth, uploads and telemetry."""

    # "auto": login required when bound to a non-loopback address; "always": on loopback too.
    auth: Literal["auto", "always"] = "auto"
    session_hours: float = Field(default=24 * 14, gt=0)  # how long a login lasts
    upload_limit_mb: int = Field(default=50 * 1024, ge=1)  # the largest file the web UI accepts
    telemetry_interval_s: float = Field(default=5, ge=1, le=60)  # how often GPU/CPU figures are sampled
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


class CopilotSettings(StrictModel):
    """``[copilot]``: the Copilot sidecar (see lorapilot.tools.copilot)."""

    permit_allow_all: bool = False  # let chats ask for --allow-all-tools/-paths/-urls
    default_timeout_s: float = Field(default=600, gt=0, le=86400)  # a chat's time limit unless it asks for another
    max_timeout_s: float = Field(default=3600, gt=0, le=86400)  # the longest a chat may ask for
    default_cwd: str = Field(default="outputs", min_length=1)  # where a chat runs unless it names a folder


WebhookEvent = Literal["done", "failed", "cancelled"]
_DEFAULT_WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = ("done", "failed")


class TrainPilotSettings(StrictModel):
    """``[trainpilot]``: the training queue (see docs/trainpilot.md)."""

    worker: bool = True  # drive the queue from inside ControlPilot (else: `lorapilot trainpilot worker`)
    gpus: list[str] | None = None  # GPU ids jobs may use; default every GPU NVML sees, "cpu" without one
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)  # how often the worker looks at running jobs
    webhook_url: str = ""  # or TRAINPILOT_WEBHOOK_URL in secrets.env
    webhook_format: Literal["json", "discord", "ntfy"] = "json"  # the body the webhook gets
    # which endings notify
    webhook_events: list[WebhookEvent] = Field(default_factory=lambda: list(_DEFAULT_WEBHOOK_EVENTS))
    # argv that stops this machine ($VARS expanded, no shell): run by `lorapilot shutdown` schedules and,
    # as before, stop_delay_s after the queue has run empty following a job (docs/beyond-one-gpu.md)
    stop_command: list[str] = Field(default_factory=list)
    stop_delay_s: float = Field(default=60, ge=0)  # how long the queue stays empty before stop_command runs
    # A test grid (checkpoints × LoRA weights × sample prompts) after each finished job: "auto" renders it
    # when it has at most grid_auto_max_cells images, "always" whatever its size, "never" not at all.
    grid_after_training: Literal["auto", "always", "never"] = "auto"
    # the largest grid "auto" renders unasked
    grid_auto_max_cells: int = Field(default=24, ge=1)
    # LoRA strengths of the automatic grid
    grid_weights: list[float] = Field(default_factory=lambda: [0.6, 0.8, 1.0])
    # auto: ComfyUI's API when it answers, else diffusers on this machine
    grid_renderer: Literal["auto", "comfyui", "native"] = "auto"
    stop_warning_s: float = Field(default=300, ge=0)  # the webhook warns this long before a timed stop
    idle_gpu_pct: float = Field(default=10, ge=0, le=100)  # GPU use (%) below which the machine may be idle
    # A job's GPU is held by an inference app even after asking it to free its models: "wait" until it
    # is free, "stop-apps" (stop the apps holding it, restart them after the job) or "refuse" the job.
    busy_gpu: Literal["wait", "stop-apps", "refuse"] = "wait"
    free_timeout_s: float = Field(default=20, ge=0, le=600)  # how long freed memory may take to show


class MediaSettings(StrictModel):
    """``[mediapilot]`` (the old name ``[media]`` is still read): MediaPilot's folders indexed beside ``outputs/``
    and the trash policy."""

    extra_roots: list[str] = Field(default_factory=list)  # absolute folders indexed beside outputs/
    # Folders outside the workspace that ControlPilot's API may add as roots (they and what lies
    # below them). Anything else outside the workspace only the CLI or this file can add.
    api_allowed_roots: list[str] = Field(default_factory=list)
    watch: bool = True  # keep the index fresh while ControlPilot runs
    trash_keep_days: float = Field(default=30, ge=0)  # what "empty trash" removes unless told "all"


VLM_DEFAULT_PROMPT = (
    "Describe this image as a training caption for a diffusion model: one paragraph, "
    "concrete visual details (subject, clothing, pose, setting, lighting, style), no preamble."
)


class VLMSettings(StrictModel):
    """Defaults for the vision-language captioner; a job may override each."""

    base_url: str = "http://127.0.0.1:8000/v1"  # an OpenAI-compatible server (vLLM, llama.cpp, Ollama...)
    model: str = ""  # the model name that server serves
    prompt: str = VLM_DEFAULT_PROMPT  # what each image is sent with
    max_tokens: int = Field(default=300, ge=1, le=8192)  # the longest caption
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)  # sampling temperature
    max_side: int = Field(default=1024, ge=64, le=4096)  # images are shrunk to this many pixels on their long side
    timeout_s: float = Field(default=120.0, gt=0)  # per image


class TagPilotSettings(StrictModel):
    """``[tagpilot]``: the taggers and the captioner."""

    # The WD14 model folder (model.onnx + selected_tags.csv), absolute or relative to the workspace.
    wd14_model_dir: str = ""
    vlm: VLMSettings = VLMSettings()
    # The folder of the local captioners' models (florence2/, joycaption/, qwen25vl/), absolute or workspace-relative.
    local_models_dir: str = "models/captioners"


# Sections renamed to their tool's name: old name -> new name. The old name is still read for one
# release (with a note); giving both is an error, since one would silently win.
OLD_SECTION_NAMES = {"media": "mediapilot"}


class Settings(StrictModel):
    """Everything in ``config/lorapilot.toml``."""

    host: str = "0.0.0.0"  # the address services listen on; "127.0.0.1" keeps everything on this machine
    manager: ManagerSettings = ManagerSettings()
    components: dict[str, ComponentOverride] = Field(default_factory=dict)
    models: ModelsSettings = ModelsSettings()
    controlpilot: ControlPilotSettings = ControlPilotSettings()
    copilot: CopilotSettings = CopilotSettings()
    trainpilot: TrainPilotSettings = TrainPilotSettings()
    mediapilot: MediaSettings = MediaSettings()
    tagpilot: TagPilotSettings = TagPilotSettings()
    sync: SyncSettings = SyncSettings()
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
                    raise ValueError(
                        f"[{old}] and [{new}] are the same section ([{old}] is its old name): keep only [{new}]"
                    )
                data[new] = data.pop(old)
                notes.append(
                    f"[{old}] is now called [{new}]; rename the section (the old name is read until the next release)"
                )
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

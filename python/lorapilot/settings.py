"""The user's settings file, ``config/lorapilot.toml``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from lorapilot.tagpilot.config import TagPilotSettings
from lorapilot.tomlconfig import load_toml_model

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

# [models]
# extra_roots = ["/mnt/network-volume/models"]
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


class Settings(_Strict):
    """Everything in ``config/lorapilot.toml``."""

    host: str = "0.0.0.0"
    manager: ManagerSettings = ManagerSettings()
    components: dict[str, ComponentOverride] = Field(default_factory=dict)
    models: ModelsSettings = ModelsSettings()
    tagpilot: TagPilotSettings = TagPilotSettings()


def load_settings(path: Path) -> Settings:
    """Load the settings file; a missing file means all defaults."""
    path = Path(path)
    if not path.exists():
        return Settings()
    return load_toml_model(path, Settings)

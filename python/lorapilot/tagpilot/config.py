"""TagPilot's section of ``config/lorapilot.toml``: ``[tagpilot]`` and ``[tagpilot.vlm]``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PROMPT = (
    "Describe this image as a training caption for a diffusion model: one paragraph, "
    "concrete visual details (subject, clothing, pose, setting, lighting, style), no preamble."
)


class VLMSettings(BaseModel):
    """Defaults for the vision-language captioner; a job may override each."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = ""
    prompt: str = DEFAULT_PROMPT
    max_tokens: int = Field(default=300, ge=1, le=8192)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_side: int = Field(default=1024, ge=64, le=4096)
    timeout_s: float = Field(default=120.0, gt=0)


class TagPilotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The WD14 model folder (model.onnx + selected_tags.csv), absolute or relative to the workspace.
    wd14_model_dir: str = ""
    vlm: VLMSettings = VLMSettings()

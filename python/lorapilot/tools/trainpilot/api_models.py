"""Request bodies and answers of the TrainPilot API (pydantic at the edge; the library takes plain values)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from lorapilot.stack.apimodels import ResponseModel

from .profiles import Profile, RegularizationRef

# -- requests ------------------------------------------------------------------------------------


class ShutdownRequest(BaseModel):
    """Arm a machine stop: ``in`` a duration, ``at`` HH:MM, ``idle`` for a duration, or ``after-queue``."""

    mode: Literal["in", "at", "idle", "after-queue"]
    value: str = Field(default="", max_length=64)  # 30m / 23:00 / 20m; empty for after-queue


class DraftRequest(BaseModel):
    name: str
    dataset: str
    base: str
    family: str
    quality: Literal["quick", "regular", "high"] = "regular"
    vram_gb: int = 24
    trainer: Literal["kohya", "ai-toolkit", "diffusion-pipe", "native"] = "kohya"
    trigger_word: str | None = None
    clip_l: str | None = None
    t5xxl: str | None = None
    ae: str | None = None
    vae: str | None = None
    diffusers: str | None = None  # Chroma on Diffusion Pipe: a FLUX.1 diffusers folder
    llm: str | None = None  # Lumina 2's Gemma-2 2B, or a UMT5 file for Wan
    adapter: str | None = None  # Z-Image-Turbo's training adapter LoRA
    regularization: RegularizationRef | None = Field(
        default=None, description="A regularization (class image) set: a dataset TagPilot marked as one."
    )


class SubmitRequest(BaseModel):
    profile: Profile | None = None
    profile_name: str | None = None


class CancelRequest(BaseModel):
    mode: Literal["save", "kill"] = "kill"


class JobMoveRequest(BaseModel):
    index: int = Field(ge=0)


# -- answers ---------------------------------------------------------------------------------------


class IssueView(ResponseModel):
    """One problem found before training: ``field`` names the profile field to fix."""

    field: str
    message: str
    level: Literal["error", "warning"]


class PresetView(ResponseModel):
    id: str
    family: str
    family_title: str
    quality: str
    vram_gb: int
    fits: bool
    reason: str | None = None


class TrainingDataset(ResponseModel):
    """A dataset as TrainPilot sees it (with TagPilot's handoff, when there is one)."""

    name: str
    path: str
    image_dir: str
    caption_extension: str
    num_images: int
    num_captioned: int = Field(description="images and clips with a caption")
    missing_captions: list[str] = Field(description="the first few images (or clips) without a caption")
    num_clips: int = Field(
        0, description="video clips (mp4/webm/mov); only Diffusion Pipe trains on them (Wan, HunyuanVideo, LTX-Video)"
    )
    clips: list[str] = Field(default_factory=list, description="the first few clip names")
    sample_captions: list[str]
    handoff: dict[str, Any] | None = None
    handoff_error: str | None = None
    trigger_word: str


class BaseModelChoice(ResponseModel):
    """A base model to train on: ``path`` is what a profile's ``model.base`` holds."""

    path: str
    folder: str
    kind: str = Field(description='"file", "diffusers", or "folder" (an official Wan checkpoint folder)')
    family: str | None = None
    size: int


class FlowDefaultsView(ResponseModel):
    """Where the new-training flow starts, and why each choice was made."""

    family: str
    trainer: str
    quality: str
    vram_gb: int
    cpu: bool = Field(description="no GPU found: the CPU preset")
    gpu_memory_gib: float | None = None
    reasons: list[str]


class TrainerChoice(ResponseModel):
    name: str
    title: str
    issues: list[IssueView]
    tiers: dict[str, str] = Field(description='VRAM tier (GB) -> the problem with it, "" when it fits')


class ProfileDraft(ResponseModel):
    profile: Profile
    issues: list[IssueView]


class SavedProfile(ResponseModel):
    path: str
    issues: list[IssueView]


class JobFields(ResponseModel):
    """A job of the queue, without its profile."""

    id: int
    name: str
    trainer: str
    family: str
    dataset: str
    profile_name: str | None = None
    state: str
    position: float
    run_dir: str
    resume: bool
    cancel_request: str | None = None
    gpu_ids: list[str]
    pid: int | None = None
    pid_started: float | None = None
    log_offset: int
    step: int | None = None
    total: int | None = None
    loss: float | None = None
    lr: float | None = None
    its: float | None = None
    latest_sample: str | None = None
    latest_checkpoint: str | None = None
    final_lora: str | None = None
    card: str | None = None
    exit_code: int | None = None
    error: str | None = None
    log_tail: str | None = None
    retry_of: int | None = None
    attempts: int
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float
    eta_s: float | None = None
    fraction: float | None = None
    planned_steps: int | None = None


class JobSummary(JobFields):
    """A row of the queue list."""

    can_save_stop: bool
    resumable: bool


class JobView(JobFields):
    """A job with the profile it was queued with (as stored: older jobs keep their older profile)."""

    profile: dict[str, Any]


class LossPoint(ResponseModel):
    step: int
    loss: float | None = None
    lr: float | None = None
    its: float | None = None


class JobSample(ResponseModel):
    step: int
    path: str
    name: str


class StepFile(ResponseModel):
    step: int
    path: str


class JobDetail(JobView):
    """A job with its loss curve, samples per step, checkpoints, states and the log's tail."""

    points: list[LossPoint]
    samples: list[JobSample]
    checkpoints: list[StepFile]
    states: list[StepFile]
    final_output: str | None = None
    log: list[str]
    resumable: bool
    can_save_stop: bool


class SubmittedJob(ResponseModel):
    job: JobView
    warnings: list[IssueView]


class QueueStatus(ResponseModel):
    worker_running: bool
    gpus: list[str]
    counts: dict[str, int] = Field(description="jobs per state")
    waiting_for: dict[str, Any] | None = Field(default=None, description="what the first queued job waits for")


class StopState(ResponseModel):
    """The scheduled machine stop (``scheduled`` false when none) and its countdown."""

    scheduled: bool
    stop_command_set: bool | None = None
    mode: str | None = None
    at: float | None = None
    idle_s: float | None = None
    idle_since: float | None = None
    due_at: float | None = None
    seconds_left: float | None = None
    held_by: str | None = None

"""The grid's shapes at the API edge (pydantic): the request, the started task, the manifest."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class GridRequest(BaseModel):
    weights: list[float] = Field(default_factory=lambda: [0.6, 0.8, 1.0], min_length=1, max_length=12)
    prompts: list[str] | None = Field(default=None, max_length=32)  # default: the job's sample prompts
    checkpoints: str = Field(default="all", pattern=r"^(all|last|[1-9][0-9]*)$")
    renderer: Literal["auto", "comfyui", "native"] = "auto"


class GridStarted(BaseModel):
    task_id: str
    cells: int


class GridCell(BaseModel):
    row: int
    col: int
    file: str  # relative to the grid folder
    checkpoint: str
    step: int | None
    weight: float
    prompt: str
    seed: int


class GridManifest(BaseModel):
    job_id: int | None
    name: str
    renderer: str
    rows: list[str]
    cols: list[str]
    cells: list[GridCell]
    grid: str
    finished_at: float


class GridTask(BaseModel):
    id: str
    state: str
    current: float
    total: float | None
    message: str
    error: str | None


class GridStatus(BaseModel):
    manifest: GridManifest | None  # the last complete grid
    folder: str  # relative to the job folder: the job's file route serves grid images from there
    task: GridTask | None  # the newest grid task for this job since ControlPilot started

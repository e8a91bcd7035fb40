"""Request bodies and answers of the models API (pydantic at the edge; the store takes plain values)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from lorapilot.stack.apimodels import ResponseModel, TaskView, TrashItemView


class PullRequest(BaseModel):
    source: str | None = Field(default=None, description="hf:owner/repo[/file], a CivitAI URL/id/AIR, or a URL")
    type: str | None = Field(default=None, description="store folder; default: from the source, else detected")
    manifest: str | None = Field(default=None, description="a name from config/models.toml instead of source")


class MoveRequest(BaseModel):
    path: str
    to_type: str


class ModelRenameRequest(BaseModel):
    path: str
    name: str


class PathRequest(BaseModel):
    path: str


class HashRequest(BaseModel):
    paths: list[str] | None = Field(default=None, description="default: every model without a cached hash")


class ModelEntryView(ResponseModel):
    """One model of the store, as listed (header-inspected; hashes only when cached)."""

    path: str
    rel: str
    root: str
    folder: str
    name: str
    size: int
    mtime: float
    format: str
    kind: str
    family: str | None = None
    family_label: str | None = None
    variant: str | None = None
    dtype: str | None = None
    rank: int | None = None
    alpha: float | None = None
    algo: str | None = None
    title: str | None = None
    sha256: str | None = None
    autov2: str | None = None
    addnet: str | None = None
    warning: str | None = None
    error: str | None = None


class ModelList(ResponseModel):
    models: list[ModelEntryView]
    unhashed: int = Field(description="models without a cached hash (hashing is a task)")
    roots: list[str]
    unreachable_roots: list[str]


class ModelTypes(ResponseModel):
    folders: list[str]
    families: dict[str, str] = Field(description="family id -> label")
    kinds: list[str]


class ModelHashes(ResponseModel):
    sha256: str
    autov2: str
    addnet: str | None = None


class ModelTagCount(ResponseModel):
    dataset: str
    tag: str
    count: int


class ModelInspection(ResponseModel):
    """What the header says about one model file, plus its cached hashes and TrainPilot's training card."""

    path: str
    name: str
    size: int
    format: str
    summary: dict[str, Any]
    training: dict[str, Any] = Field(default_factory=dict, description="selected ss_* / modelspec.* fields")
    metadata: dict[str, Any] = Field(default_factory=dict, description="every metadata field but the tag table")
    tag_frequency: list[ModelTagCount] = Field(default_factory=list)
    dtypes: dict[str, int] = Field(default_factory=dict, description="bytes per dtype")
    hashes: ModelHashes | None = None
    card: dict[str, Any] | None = None


class ModelPath(ResponseModel):
    path: str


class ModelsTrashed(ResponseModel):
    trashed: list[TrashItemView]


class ModelTrashItem(TrashItemView):
    root: str
    sidecars: list[str] = Field(description="files that come back with it")


class ModelTrash(ResponseModel):
    items: list[ModelTrashItem]


class ManifestEntryView(ResponseModel):
    source: str
    type: str | None = None
    description: str = ""
    sha256: str | None = None
    requires: list[str] = Field(default_factory=list)


class ManifestView(ResponseModel):
    path: str
    models: dict[str, ManifestEntryView]


class ModelTasks(ResponseModel):
    tasks: list[TaskView]

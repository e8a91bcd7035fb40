"""Request bodies and answers of the MediaPilot API (pydantic at the edge; the library takes plain values)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lorapilot.stack.apimodels import ResponseModel, TaskRef
from lorapilot.tools.mediapilot import organise

# -- requests ------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Ids(_Body):
    ids: list[int] = Field(min_length=1, max_length=organise.MAX_BATCH)


class FavouriteBody(Ids):
    value: bool = True


class TagBody(Ids):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class TransferBody(Ids):
    dest: str = Field(min_length=1, description="folder in outputs/, or 'ROOT:folder' for an extra root")


class EmptyTrashBody(_Body):
    all: bool = False
    older_than_days: float | None = Field(default=None, ge=0)


class SendBody(_Body):
    url: str | None = Field(default=None, description="ComfyUI address; default: this workspace's ComfyUI")


class RootBody(_Body):
    path: str = Field(min_length=1, max_length=4096, description="absolute folder path")


# -- answers ---------------------------------------------------------------------------------------


class MediaItem(ResponseModel):
    """One indexed file, as a search lists it (``version`` changes with the file: thumbnail URLs carry it)."""

    id: int
    root_id: int
    root: str = Field(description="the root's label")
    rel: str
    name: str
    kind: str
    format: str | None = None
    size: int
    mtime_ns: int
    ctime_ns: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    source: str | None = None
    model: str | None = None
    seed: str | int | None = None
    steps: int | None = None
    cfg: float | None = None
    sampler: str | None = None
    has_workflow: int = 0
    error: str | None = None
    fav: int = 0
    trash_id: str | None = None
    version: str


class MediaPage(ResponseModel):
    items: list[MediaItem]
    next_cursor: str | None = None
    total: int | None = Field(default=None, description="only when asked for (total=true)")


class MediaLora(ResponseModel):
    name: str
    weight: float | None = None
    clip_weight: float | None = None
    hash: str | None = None


class MediaParams(ResponseModel):
    """Generation parameters the metadata reader found beyond the indexed columns."""

    loras: list[dict[str, Any]] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)


class MediaDetail(MediaItem):
    """Everything the index knows about one file: prompts, parameters, LoRAs, tags."""

    positive: str | None = None
    negative: str | None = None
    model_hash: str | None = None
    scheduler: str | None = None
    gen_width: int | None = None
    gen_height: int | None = None
    denoise: float | None = None
    params: MediaParams | None = None
    loras: list[MediaLora] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    raw_keys: list[str] = Field(default_factory=list)


class MediaRootState(ResponseModel):
    id: int
    label: str
    path: str
    present: bool


class MediaStats(ResponseModel):
    total: int
    trashed: int
    flagged: int
    favourites: int
    roots: list[MediaRootState]


class SuggestValue(ResponseModel):
    value: str | int | float | None
    count: int


class MediaTrashItem(ResponseModel):
    id: int
    name: str
    rel: str
    size: int
    kind: str
    trash_id: str
    deleted_at: float


class MediaTrash(ResponseModel):
    items: list[MediaTrashItem]
    keep_days: float = Field(description="what 'empty trash' removes unless told 'all'")


class BatchResultView(ResponseModel):
    done: list[int]
    failed: dict[str, str] = Field(description="id -> why")


class MediaEmptyTrashResult(ResponseModel):
    removed: int
    bytes: int
    kept_days: float | None


class ChangedCount(ResponseModel):
    changed: int


class MediaTagCount(ResponseModel):
    tag: str
    count: int


class CompareItem(ResponseModel):
    id: int
    name: str


class CompareRow(ResponseModel):
    values: list[Any] = Field(description="one per item, in the order of ids")
    same: bool


class CompareField(CompareRow):
    field: str


class CompareLora(CompareRow):
    name: str
    values: list[float | None] = Field(description="the LoRA's weight in each item (null: not used)")


class ComparePrompt(ResponseModel):
    common: list[str]
    only: list[list[str]] = Field(description="per item, the terms only it has")


class CompareResult(ResponseModel):
    ids: list[int]
    items: list[CompareItem]
    fields: list[CompareField]
    loras: list[CompareLora]
    prompts: dict[str, ComparePrompt]


class ZipLink(ResponseModel):
    url: str
    count: int
    expires_in_s: float


class MediaRoot(ResponseModel):
    id: int
    label: str
    path: str
    files: int
    reachable: bool
    removable: bool


class RootAdded(ResponseModel):
    root: MediaRoot
    task: TaskRef


class RootRemoved(ResponseModel):
    removed: str
    unindexed: int


class ComfyWorkflow(ResponseModel):
    """A ComfyUI graph as ComfyUI saved it (sent as a download: ``workflow-<id>.json``)."""


class ComfyQueued(ResponseModel):
    """ComfyUI's answer to the queued prompt."""

    prompt_id: str | None = None
    number: int | None = None
    node_errors: dict[str, Any] | None = None

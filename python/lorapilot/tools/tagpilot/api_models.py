"""Request bodies of the TagPilot API (pydantic at the edge; the library takes plain values)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lorapilot.tools.tagpilot.checks import CHECKS
from lorapilot.tools.tagpilot.export import FORMATS


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateDataset(_Body):
    name: str


class RenameDataset(_Body):
    name: str


class MarkRegularization(_Body):
    regularization: bool = Field(description="true: the dataset is a regularization (class image) set; false: a training set.")


class DatasetMetaOut(BaseModel):
    """A dataset's own settings (``.tagpilot/dataset.json``)."""

    name: str
    regularization: bool


class ImportFolder(_Body):
    path: str = Field(description="A folder inside the workspace (relative to its root, or absolute inside it).")
    move: bool = False


class CaptionEdit(_Body):
    text: str | None = None
    tags: list[str] | None = Field(default=None, description="Alternative to text: the caption as a tag list.")
    version: str = Field(description="The version the edit is based on ('' for an image without caption).")


class OpSpec(_Body):
    kind: Literal["add", "remove", "replace", "find_replace", "dedupe", "sort", "consolidate"]
    tag: str | None = None
    tags: list[str] | None = None
    new: str | None = None
    position: int | None = None
    find: str | None = None
    replace: str | None = None
    regex: bool | None = None
    ignore_case: bool | None = None
    keep_first: int | None = None
    by_frequency: bool | None = None


class OpRequest(_Body):
    op: OpSpec
    query: str | None = None
    images: list[str] | None = None
    limit: int = Field(default=500, ge=0, le=100_000, description="Preview: how many diffs to return.")
    expected: dict[str, str] | None = Field(
        default=None, description="Apply: image → version from the preview; only those files change, and only if unchanged."
    )


class WD14Params(_Body):
    model_dir: str | None = None
    general_threshold: float = Field(default=0.35, ge=0, le=1)
    character_threshold: float = Field(default=0.85, ge=0, le=1)
    general_mcut: bool = False
    character_mcut: bool = False
    include_rating: bool = False
    exclude: list[str] = Field(default_factory=list)


class VLMParams(_Body):
    base_url: str | None = None
    model: str | None = None
    prompt: str | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0, le=2)
    trigger_word: str | None = None


class CaptionJob(_Body):
    captioner: Literal["wd14", "vlm"]
    mode: Literal["ignore", "append", "overwrite"] = "ignore"
    query: str | None = None
    images: list[str] | None = None
    wd14: WD14Params = WD14Params()
    vlm: VLMParams = VLMParams()


class ChecksRequest(_Body):
    checks: list[Literal[CHECKS]] = Field(default_factory=lambda: list(CHECKS))  # type: ignore[valid-type]
    min_side: int = Field(default=512, ge=1)
    blur_threshold: float = Field(default=60.0, ge=0)
    near_threshold: int = Field(default=6, ge=0, le=32)


class ImagesAction(_Body):
    action: Literal["exclude", "trash"]
    images: list[str] = Field(min_length=1)


class ImagesList(_Body):
    images: list[str] = Field(min_length=1)


class ExportRequest(_Body):
    formats: list[Literal[FORMATS]] = Field(default_factory=lambda: list(FORMATS))  # type: ignore[valid-type]
    repeats: int = Field(default=10, ge=1, le=10_000)
    resolution: int = Field(default=1024, ge=64, le=8192)
    trigger_word: str | None = None
    concept: str | None = None
    batch_size: int = Field(default=1, ge=1, le=256)
    caption_dropout_rate: float = Field(default=0.0, ge=0, le=1)


class HandoffRequest(_Body):
    """Omitted fields keep the values of the previous handoff, else stay null (TrainPilot's preset decides)."""

    trigger_word: str | None = None
    repeats: int | None = Field(default=None, ge=1, le=10_000)
    resolution: int | None = Field(default=None, ge=64, le=8192)


class SecretValue(_Body):
    value: str = Field(min_length=1)

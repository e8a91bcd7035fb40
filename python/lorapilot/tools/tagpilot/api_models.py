"""Request bodies and answers of the TagPilot API (pydantic at the edge; the library takes plain values)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lorapilot.stack.apimodels import ResponseModel, TrashItemView
from lorapilot.stack.settings import VLMSettings
from lorapilot.tools.tagpilot.checks import CHECKS
from lorapilot.tools.tagpilot.export import FORMATS
from lorapilot.tools.tagpilot.local_captioners import JOY_CAPTION_TYPES, JOY_LENGTHS, LOCAL_NAMES


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateDataset(_Body):
    name: str


class RenameDataset(_Body):
    name: str


class MarkRegularization(_Body):
    regularization: bool = Field(
        description="true: the dataset is a regularization (class image) set; false: a training set."
    )


class DatasetMetaOut(ResponseModel):
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
        default=None,
        description="Apply: image → version from the preview; only those files change, and only if unchanged.",
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


class LocalCaptionerParams(_Body):
    """Florence-2 / JoyCaption / Qwen2.5-VL; ``prompt`` is Florence-2's task or the others' instruction."""

    model_dir: str | None = Field(default=None, description="Default: [tagpilot] local_models_dir/<captioner>.")
    prompt: str | None = None
    caption_type: Literal[tuple(JOY_CAPTION_TYPES)] = "descriptive"  # type: ignore[valid-type]
    caption_length: Literal[JOY_LENGTHS] = "long"  # type: ignore[valid-type]
    max_new_tokens: int = Field(default=256, ge=1, le=4096)
    temperature: float = Field(default=0.0, ge=0, le=2)
    top_p: float = Field(default=0.9, gt=0, le=1)
    max_side: int = Field(default=1024, ge=64, le=4096)


class CaptionJob(_Body):
    captioner: Literal[("wd14", "vlm", *LOCAL_NAMES)]  # type: ignore[valid-type]
    mode: Literal["ignore", "append", "overwrite"] = "ignore"
    query: str | None = None
    images: list[str] | None = None
    wd14: WD14Params = WD14Params()
    vlm: VLMParams = VLMParams()
    local: LocalCaptionerParams = LocalCaptionerParams()


class FramesRequest(_Body):
    """Extract still frames of the dataset's clips into another dataset: exactly one of ``every`` or ``scene``."""

    into: str = Field(description="dataset the frames go into (created when missing)")
    every: int | None = Field(None, ge=1, description="keep every N-th frame")
    scene: float | None = Field(None, gt=0, lt=1, description="keep the first frame and scene changes above this score")
    clips: list[str] | None = Field(None, description="only these clips (default: all)")


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


# -- answers -----------------------------------------------------------------------------------------


class DatasetSummary(ResponseModel):
    name: str
    images: int
    captioned: int
    regularization: bool = False  # a regularization (class image) set, marked in TagPilot


class SideRange(ResponseModel):
    min: int
    max: int
    mean: float


class DatasetStats(ResponseModel):
    """Counts, sizes, aspect ratios and captioned share of one dataset."""

    name: str
    path: str
    images: int = Field(description="images and clips")
    clips: int = Field(0, description="video clips among them (mp4/webm/mov)")
    bytes: int
    captioned: int
    captioned_pct: float
    undecodable: int
    non_utf8_captions: int
    excluded: int
    width: SideRange | None
    height: SideRange | None
    aspect_ratios: dict[str, int] = Field(description="aspect bucket -> images, most common first")
    short_side: dict[str, int] = Field(description="short-side bucket (<512, 512-767, ...) -> images")
    regularization: bool = False  # a regularization (class image) set, marked in TagPilot


class DatasetName(ResponseModel):
    name: str


class FileIssue(ResponseModel):
    file: str
    reason: str


class ImportReportView(ResponseModel):
    """What an import or upload did: files brought in, renamed to avoid a clash, skipped, and warnings."""

    imported: list[str]
    captions: int
    renamed: dict[str, str]
    skipped: list[FileIssue]
    warnings: list[FileIssue]


class ClipFacts(ResponseModel):
    """A video clip's first video stream, as ffprobe reads it."""

    width: int
    height: int
    fps: float
    frames: int
    duration: float = Field(description="seconds")


class ImageRecordView(ResponseModel):
    """One image with its caption (``version`` is what an edit must be based on)."""

    name: str
    size: int | None = None
    mtime_ns: int | None = Field(
        None, description="The image file's mtime: changes when it is cropped (thumbnail URLs carry it)."
    )
    width: int | None = None
    height: int | None = None
    error: str | None = None
    caption: str
    version: str
    has_caption: bool
    non_utf8: bool
    tags: list[str]
    kind: Literal["image", "clip"] = "image"
    clip: ClipFacts | None = Field(
        None, description="a clip's facts from ffprobe; null for images or an unreadable clip"
    )


class ImagePage(ResponseModel):
    total: int
    matched: int
    offset: int
    images: list[ImageRecordView]


class CaptionView(ResponseModel):
    text: str
    version: str
    exists: bool
    non_utf8: bool


class TagCount(ResponseModel):
    tag: str
    count: int


class TagTable(ResponseModel):
    images: int = Field(description="how many images the counts are over")
    tags: list[TagCount]


class FileDiffView(ResponseModel):
    image: str
    version: str
    before: str
    after: str
    added: list[str]
    removed: list[str]


class OpPreview(ResponseModel):
    """Which captions an operation would change; ``expected`` goes back with the apply."""

    description: str
    selected: int
    changed: int
    diffs: list[FileDiffView]
    truncated: bool
    expected: dict[str, str]


class HistoryEntryView(ResponseModel):
    id: int
    created_at: float
    description: str
    source: str
    state: str
    files: int
    op: dict[str, Any] | None = None


class HistoryState(ResponseModel):
    entries: list[HistoryEntryView]
    can_undo: bool
    can_redo: bool


class ChecksActionResult(ResponseModel):
    """``excluded`` after an exclude, ``trashed`` after a trash (only the one that happened is sent)."""

    excluded: list[str] | None = None
    trashed: list[TrashItemView] | None = None


class ExcludedImages(ResponseModel):
    images: list[str]


class IncludedImages(ResponseModel):
    included: list[str]


class Handoff(ResponseModel):
    """The "train this" data TrainPilot reads (null values: TrainPilot's preset decides)."""

    dataset: str
    image_dir: str | None = None
    caption_extension: str | None = None
    num_images: int | None = None
    captioned: int | None = None
    trigger_word: str | None = None
    repeats: int | None = None
    resolution: int | None = None


class TagPilotConfig(ResponseModel):
    """Captioner defaults from config/lorapilot.toml; for the API key only whether it is set."""

    wd14_model_dir: str
    vlm: VLMSettings
    vlm_api_key_set: bool
    onnxruntime_installed: bool
    local_models_dir: str
    local_captioners: dict[str, str] = Field(description="Each local captioner and the Hugging Face repo it runs.")


class VlmKeyState(ResponseModel):
    vlm_api_key_set: bool

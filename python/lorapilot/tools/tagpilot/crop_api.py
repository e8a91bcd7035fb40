"""``/api/tagpilot/datasets/{name}/images/{image}/crop`` and the bulk crop: thin routes over :mod:`crop`.

Included into TagPilot's router (``api.py``); the request and answer models sit here beside their routes.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.apideps import get_ctx, get_tasks
from lorapilot.stack.apimodels import ResponseModel, TaskView
from lorapilot.stack.context import Context
from lorapilot.tools.tagpilot import crop
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.cropgeom import ASPECT_NAMES, ASPECTS, FREE

router = APIRouter()
IMAGE = "/datasets/{name}/images/{image}"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CropFocus(_Body):
    x: float = Field(description="Fraction of the width (0 = left edge, 1 = right edge).")
    y: float = Field(description="Fraction of the height (0 = top, 1 = bottom).")


class CropBox(_Body):
    x: int
    y: int
    width: int
    height: int


class CropRequest(_Body):
    """A crop: ``box`` exactly, or the largest ``aspect`` box around ``focus`` (last focus, else the centre)."""

    aspect: str = Field(FREE, description=f"One of: {', '.join(ASPECT_NAMES)}.")
    focus: CropFocus | None = None
    box: CropBox | None = None


class BulkCropRequest(_Body):
    """Crop these images to one aspect, each around its own focus point (default the centre)."""

    aspect: str = Field(description=f"One of: {', '.join(a for a in ASPECT_NAMES if a != FREE)}.")
    images: list[str] = Field(min_length=1)


class CropStateView(ResponseModel):
    """An image's crop; ``box`` is in the original's pixels, null when the image is not cropped."""

    image: str
    cropped: bool
    original_width: int
    original_height: int
    aspect: str
    focus: CropFocus
    box: CropBox | None = None


class AspectPreset(ResponseModel):
    name: str
    width: int = Field(description="The ratio's width part (0 for 'free').")
    height: int


class AspectPresets(ResponseModel):
    aspects: list[AspectPreset]


def _view(state: crop.CropState) -> CropStateView:
    box = state.box
    return CropStateView(
        image=state.image,
        cropped=state.cropped,
        original_width=state.original_width,
        original_height=state.original_height,
        aspect=state.aspect,
        focus=CropFocus(x=state.focus[0], y=state.focus[1]),
        box=CropBox(x=box[0], y=box[1], width=box[2], height=box[3]) if box else None,
    )


def _ds(ctx: Context, name: str) -> datasets.Dataset:
    return datasets.open_dataset(ctx.workspace, name)


@router.get("/crop-aspects")
def crop_aspects() -> AspectPresets:
    """The aspect presets the crop accepts, in the order the editor lists them."""
    presets = [AspectPreset(name=FREE, width=0, height=0)]
    presets += [AspectPreset(name=name, width=w, height=h) for name, (w, h) in ASPECTS.items()]
    return AspectPresets(aspects=presets)


@router.get(IMAGE + "/crop")
def get_crop(name: str, image: str, ctx: Context = Depends(get_ctx)) -> CropStateView:
    """How the image is cropped now (and the original's size, which crop boxes are measured in)."""
    return _view(crop.crop_state(_ds(ctx, name), image))


@router.put(IMAGE + "/crop")
def put_crop(name: str, image: str, body: CropRequest, ctx: Context = Depends(get_ctx)) -> CropStateView:
    """Crop the image from its kept original; the dataset's file becomes the crop."""
    focus = (body.focus.x, body.focus.y) if body.focus else None
    box = (body.box.x, body.box.y, body.box.width, body.box.height) if body.box else None
    return _view(crop.crop_image(_ds(ctx, name), image, body.aspect, focus, box))


@router.delete(IMAGE + "/crop")
def delete_crop(name: str, image: str, ctx: Context = Depends(get_ctx)) -> CropStateView:
    """Reset: put the original back byte for byte."""
    return _view(crop.reset_crop(_ds(ctx, name), image))


@router.get(IMAGE + "/original", response_class=FileResponse)
def original(name: str, image: str, ctx: Context = Depends(get_ctx)):
    """The uncropped original (the image itself when it is not cropped): what the crop editor draws on."""
    return FileResponse(crop.original_file(_ds(ctx, name), image), headers={"Cache-Control": "no-cache"})


@router.post("/datasets/{name}/crop", status_code=202)
def bulk_crop(
    name: str, body: BulkCropRequest, ctx: Context = Depends(get_ctx), tasks: TaskManager = Depends(get_tasks)
) -> TaskView:
    """Crop the images to one aspect as a task (``tagpilot.crop``) with progress and cancel."""
    ds = _ds(ctx, name)
    if body.aspect == FREE or body.aspect not in ASPECTS:
        raise LorapilotError(f"aspect {body.aspect!r}: a bulk crop needs one of {', '.join(ASPECTS)}")
    for image in body.images:
        ds.image_path(image)  # an unknown image is a 404 now, not a failed task
    task = tasks.submit(
        "tagpilot.crop",
        f"crop {len(body.images)} images of {name} to {body.aspect}",
        lambda progress, cancel: crop.crop_images(ds, body.images, body.aspect, progress, cancel).to_dict(),
    )
    return TaskView(**task.to_dict())

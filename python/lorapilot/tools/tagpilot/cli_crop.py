"""``lorapilot tagpilot crop``: crop images non-destructively (the original is kept; ``--reset`` restores it)."""

from __future__ import annotations

import click

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import cli_progress
from lorapilot.stack.clickopts import workspace_option
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.cropgeom import ASPECT_NAMES, FREE


def _numbers(option: str, text: str | None, count: int, kind: type) -> tuple | None:
    """``"0.4,0.3"`` → ``(0.4, 0.3)``; a wrong count or a non-number names the option and value."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) != count:
            raise ValueError
        return tuple(kind(p) for p in parts)
    except ValueError:
        shape = "X,Y (fractions 0..1)" if count == 2 else "X,Y,WIDTH,HEIGHT (pixels)"
        raise click.BadParameter(f"{text!r} is not {shape}", param_hint=option) from None


@click.command("crop")
@click.argument("name")
@click.argument("images", nargs=-1, required=True)
@click.option("--aspect", default=FREE, show_default=True, help=f"Aspect preset: {', '.join(ASPECT_NAMES)}.")
@click.option("--focus", help="X,Y: the point (fractions of width and height) the crop is centred on.")
@click.option("--box", help="X,Y,WIDTH,HEIGHT: crop exactly this box (pixels of the original).")
@click.option("--reset", is_flag=True, help="Put the original back.")
@workspace_option
def crop_cmd(ctx, name: str, images: tuple[str, ...], aspect: str, focus, box, reset: bool) -> None:
    """Crop images to an aspect around a focus point (or to a box); the original is kept.

    Every crop is cut from the original, so a crop can be changed or reset later. Several images:
    each is cropped to ASPECT around its own last focus point (else the centre).
    """
    from lorapilot.tools.tagpilot.crop import crop_image, crop_images, reset_crop

    ds = datasets.open_dataset(ctx.workspace, name)
    focus_point = _numbers("--focus", focus, 2, float)
    box_rect = _numbers("--box", box, 4, int)
    if reset and (box_rect or focus_point or aspect != FREE):
        raise LorapilotError("--reset takes no --aspect, --focus or --box")
    if len(images) > 1:
        if reset or box_rect or focus_point:
            raise LorapilotError("--reset, --box and --focus are for one image; several images take only --aspect")
        with cli_progress(f"crop {name} to {aspect}") as progress:
            report = crop_images(ds, list(images), aspect, progress=progress)
        click.echo(f"{len(report.cropped)} cropped to {aspect}, {len(report.failed)} failed")
        for image, error in report.failed.items():
            click.echo(f"  {image}: {error}", err=True)
        if report.failed:
            raise SystemExit(1)
        return
    image = images[0]
    if reset:
        state = reset_crop(ds, image)
        click.echo(f"{image}: original restored ({state.original_width}×{state.original_height})")
        return
    state = crop_image(ds, image, aspect, focus_point, box_rect)
    x, y, w, h = state.box or (0, 0, state.original_width, state.original_height)
    click.echo(
        f"{image}: cropped to {w}×{h} at {x},{y} of the {state.original_width}×{state.original_height} original "
        f"(aspect {state.aspect}, focus {state.focus[0]:.3g},{state.focus[1]:.3g})"
    )

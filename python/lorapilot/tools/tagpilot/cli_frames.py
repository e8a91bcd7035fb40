"""``lorapilot tagpilot frames``: still frames out of a dataset's clips, into another dataset."""

from __future__ import annotations

import click

from lorapilot.kit.progress import cli_progress
from lorapilot.stack.clickopts import workspace_option
from lorapilot.tools.tagpilot import dataset as datasets


@click.command("frames")
@click.argument("name")
@click.option("--every", type=int, help="Keep every N-th frame (N >= 1).")
@click.option(
    "--scene", type=float, help="Keep the first frame and each scene change above this score (0-1, e.g. 0.3)."
)
@click.option("--into", required=True, help="Dataset the frames go into (created when missing).")
@click.option("--clip", "clips", multiple=True, help="Only this clip (repeatable; default all clips).")
@workspace_option
def frames_cmd(ctx, name, every, scene, into, clips) -> None:
    """Extract frames of the dataset's video clips (ffmpeg) into a still dataset, each with its clip's caption.

    Ctrl-C cancels: frames are staged aside and only imported when every clip is done.
    """
    from lorapilot.tools.tagpilot.frames import check_frames_request, extract_dataset_frames

    ds = datasets.open_dataset(ctx.workspace, name)
    check_frames_request(ctx.workspace, ds, into, every, scene, list(clips) or None)  # before the bar starts
    try:
        with cli_progress(f"frames of {name}") as progress:
            report = extract_dataset_frames(ctx.workspace, ds, into, every, scene, list(clips) or None, progress)
    except KeyboardInterrupt:
        click.echo(f"cancelled: nothing was added to {into!r}", err=True)
        raise SystemExit(130) from None
    for clip, count in report.frames.items():
        click.echo(f"{clip}: {count} frames")
    for error in report.errors:
        click.echo(f"error: {error['error']}", err=True)
    verb = "created" if report.created else "added to"
    click.echo(f"{len(report.imported)} frames {verb} dataset {into!r}")
    if report.errors and not report.imported:
        raise SystemExit(1)

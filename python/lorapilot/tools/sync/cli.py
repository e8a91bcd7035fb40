"""``lorapilot sync push|pull|status``: a thin shell over :mod:`lorapilot.tools.sync.engine`."""

from __future__ import annotations

import json

import click

from lorapilot.stack.clickopts import FullHelpGroup, format_bytes, workspace_option


@click.group("sync", cls=FullHelpGroup)
def sync_group() -> None:
    """Sync LoRAs, datasets, outputs and the TrainPilot database with S3-compatible storage."""


def _syncer(ctx):
    from lorapilot.tools.sync.engine import Syncer, credentials

    return Syncer(ctx.workspace, ctx.settings.sync, credentials(ctx.workspace))


def _run(ctx, direction: str, as_json: bool) -> None:
    from lorapilot.kit.progress import cli_progress

    syncer = _syncer(ctx)
    with cli_progress(f"sync {direction}", unit="bytes") as progress:
        report = getattr(syncer, direction)(progress=progress)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    for rel in report.transferred:
        resumed = report.resumed.get(rel)
        click.echo(
            f"{'sent' if direction == 'push' else 'got '} {rel}"
            + (f"  (resumed after {format_bytes(resumed)})" if resumed else "")
        )
    for path in report.trashed:
        click.echo(f"replaced {path} (the old file is in the trash: `lorapilot trash`)")
    click.echo(f"{len(report.transferred)} transferred ({format_bytes(report.bytes)}), {report.skipped} unchanged")


@sync_group.command("push")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def push_cmd(ctx, as_json) -> None:
    """Send new and changed files to the bucket (interrupted uploads resume)."""
    _run(ctx, "push", as_json)


@sync_group.command("pull")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def pull_cmd(ctx, as_json) -> None:
    """Fetch new and changed files from the bucket (a replaced local file goes to the trash)."""
    _run(ctx, "pull", as_json)

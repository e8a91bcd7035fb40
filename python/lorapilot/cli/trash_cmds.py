"""``lorapilot trash``: what was deleted from the workspace, restore it, or empty it for good."""

from __future__ import annotations

import datetime

import click

from lorapilot.cli.common import format_bytes, workspace_option
from lorapilot.kit.trash import Trash
from lorapilot.stack.clickopts import FullHelpGroup


@click.group("trash", cls=FullHelpGroup)
def trash_group() -> None:
    """List, restore or empty the workspace trash (.trash/)."""


@trash_group.command("list")
@workspace_option
def list_cmd(ctx) -> None:
    """Items in the trash, newest first."""
    items = Trash(ctx.workspace.root).list()
    if not items:
        click.echo("the trash is empty")
    for item in items:
        when = datetime.datetime.fromtimestamp(item.deleted_at).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{item.id}  {when}  {format_bytes(item.size):>10}  {item.source:<10} {item.original}")


@trash_group.command("restore")
@click.argument("item_id")
@click.option("--to", "to", help="Restore to this workspace path instead of where it was.")
@workspace_option
def restore_cmd(ctx, item_id: str, to: str | None) -> None:
    """Put an item back (never over an existing file)."""
    path = Trash(ctx.workspace.root).restore(item_id, to)
    click.echo(f"restored {path}")


@trash_group.command("empty")
@click.option("--older-than", type=click.FloatRange(min=0), help="Only items deleted more than this many days ago.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@workspace_option
def empty_cmd(ctx, older_than: float | None, yes: bool) -> None:
    """Delete trash items for good (all, or those older than --older-than days)."""
    what = "every item in the trash" if older_than is None else f"trash items older than {older_than:g} days"
    if not yes:
        click.confirm(f"Delete {what} for good?", abort=True)
    removed = Trash(ctx.workspace.root).empty(None if older_than is None else older_than * 86400)
    click.echo(f"deleted {removed} item(s) for good")

"""``lorapilot init`` and ``lorapilot secrets``."""

from __future__ import annotations

import click

from lorapilot.cli.common import workspace_option
from lorapilot.stack.clickopts import FullHelpGroup
from lorapilot.stack.workspace import init_workspace
from lorapilot.stack.workspace.secrets import read_secrets, set_secret
from lorapilot.tools import run_on_init


@click.command("init")
@workspace_option
def init_cmd(ctx) -> None:
    """Create or update the workspace (idempotent; never overwrites your files)."""
    report = init_workspace(ctx, run_on_init)
    click.echo(f"workspace: {report.root}")
    if report.created_dirs:
        click.echo(f"  created {len(report.created_dirs)} folders")
    if report.new_secrets:
        click.echo(f"  generated secrets: {', '.join(report.new_secrets)} (see `lorapilot secrets show`)")
    for path, status in report.files:
        click.echo(f"  {status:<9} {path}")
    if not report.changed:
        click.echo("  nothing to change")


@click.group("secrets", cls=FullHelpGroup)
def secrets_group() -> None:
    """Show or set values in config/secrets.env (mode 0600)."""


@secrets_group.command("show")
@click.argument("key", required=False)
@workspace_option
def secrets_show(ctx, key: str | None) -> None:
    """Print secrets (all, or one KEY). This is the only command that prints them."""
    values = read_secrets(ctx.workspace.secrets_file)
    if key:
        if key not in values:
            raise click.ClickException(f"no secret {key!r} in {ctx.workspace.secrets_file}")
        click.echo(values[key])
        return
    for name, value in values.items():
        click.echo(f"{name}={value}")


@secrets_group.command("set")
@click.argument("key")
@click.option("--value", prompt=True, hide_input=True, help="The value (prompted, hidden, when omitted).")
@workspace_option
def secrets_set(ctx, key: str, value: str) -> None:
    """Set KEY in config/secrets.env, e.g. HF_TOKEN or CIVITAI_TOKEN."""
    ctx.workspace.config.mkdir(parents=True, exist_ok=True)
    set_secret(ctx.workspace.secrets_file, key, value)
    click.echo(f"set {key} in {ctx.workspace.secrets_file}")

"""``lorapilot install NAME...``."""

from __future__ import annotations

import click

from lorapilot.stack.clickopts import workspace_option


@click.command("install")
@click.argument("names", nargs=-1, required=True)
@workspace_option
def install_cmd(ctx, names: tuple[str, ...]) -> None:
    """Install components from their pins, without Nix: the pinned source into
    apps/NAME/src and its locked environment into apps/NAME/.venv."""
    from lorapilot.stack.install import install, prepare_install
    from lorapilot.kit.progress import cli_progress

    prepared = {name: prepare_install(ctx, name) for name in names}
    for name in names:
        with cli_progress(f"install {name}", total=len(prepared[name].steps)) as progress:
            result = install(ctx, name, progress=progress, prepared=prepared[name])
        for line in result.done:
            click.echo(f"  {line}")
    click.echo("`lorapilot up` starts them; `lorapilot components` shows what is installed.")

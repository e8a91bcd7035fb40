"""``lorapilot install NAME...``."""

from __future__ import annotations

import click

from lorapilot.stack.clickopts import workspace_option


@click.command("install")
@click.argument("names", nargs=-1, required=True)
@click.option("--from", "from_paths", multiple=True, metavar="PATH",
              help="Install the pinned source from a local archive (.tar.gz, .zip; its sha256 must match the one "
                   "recorded) or folder instead of git. Repeat as SUBMODULE=PATH for submodules. One NAME only.")
@click.option("--source-only", is_flag=True, help="Only the pinned source: no environment, no build step.")
@workspace_option
def install_cmd(ctx, names: tuple[str, ...], from_paths: tuple[str, ...], source_only: bool) -> None:
    """Install components from their pins, without Nix: the pinned source into
    apps/NAME/src and its locked environment into apps/NAME/.venv."""
    from lorapilot.stack.install import install, prepare_install
    from lorapilot.kit.progress import cli_progress

    if from_paths and len(names) != 1:
        raise click.UsageError("--from installs one component: name exactly one NAME")
    prepared = {name: prepare_install(ctx, name, from_paths, source_only) for name in names}
    for name in names:
        with cli_progress(f"install {name}", total=len(prepared[name].steps)) as progress:
            result = install(ctx, name, progress=progress, prepared=prepared[name])
        for line in result.done:
            click.echo(f"  {line}")
    click.echo("`lorapilot up` starts them; `lorapilot components` shows what is installed.")

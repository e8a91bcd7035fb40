"""``lorapilot install NAME...``."""

from __future__ import annotations

import click

from lorapilot.stack.clickopts import workspace_option


def installable_names() -> list[str]:
    """Every name ``lorapilot install`` takes: the components with a pinned source, plus native-trainer."""
    import tomllib

    from lorapilot.stack.components.registry import default_components_dir

    names = ["native-trainer"]
    for folder in sorted(default_components_dir().iterdir()):
        for spec in ("component.toml", "environment.toml"):
            path = folder / spec
            if path.is_file():
                source = tomllib.loads(path.read_text(encoding="utf-8")).get("source", {})
                if source.get("type") not in (None, "builtin"):
                    names.append(folder.name)
                break
    return sorted(names)


class InstallCommand(click.Command):
    """Lists the installable names under the help (read from components/, so never stale)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Names"):
            formatter.write_text(", ".join(installable_names()))
        formatter.write_paragraph()
        formatter.write_text(
            "native-trainer puts the train extra (torch, diffusers, peft...) into the interpreter the "
            "native trainer runs in; without an NVIDIA GPU torch comes from PyTorch's CPU index."
        )


@click.command("install", cls=InstallCommand)
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--from",
    "from_paths",
    multiple=True,
    metavar="PATH",
    help="Install the pinned source from a local archive (.tar.gz, .zip; its sha256 must match the one "
    "recorded) or folder instead of git. Repeat as SUBMODULE=PATH for submodules. One NAME only.",
)
@click.option("--source-only", is_flag=True, help="Only the pinned source: no environment, no build step.")
@workspace_option
def install_cmd(ctx, names: tuple[str, ...], from_paths: tuple[str, ...], source_only: bool) -> None:
    """Install components from their pins, without Nix.

    The pinned source goes into apps/NAME/src and its locked environment into apps/NAME/.venv.
    With --from, the pinned source comes from a local archive or folder instead of git.
    """
    from lorapilot.kit.progress import cli_progress
    from lorapilot.stack.install import install, prepare_install

    if from_paths and len(names) != 1:
        raise click.UsageError("--from installs one component: name exactly one NAME")
    prepared = {name: prepare_install(ctx, name, from_paths, source_only) for name in names}
    for name in names:
        with cli_progress(f"install {name}", total=len(prepared[name].steps)) as progress:
            result = install(ctx, name, progress=progress, prepared=prepared[name])
        for line in result.done:
            click.echo(f"  {line}")
    services = [name for name in names if name in ctx.registry]
    if services:
        click.echo(
            f"`lorapilot up` starts them (if the stack already runs: `lorapilot start {services[0]}`); "
            "ControlPilot's dashboard shows them at once."
        )
    if any(name not in ctx.registry for name in names):
        click.echo("TrainPilot uses the trainer from the next job on.")

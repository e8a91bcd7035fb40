"""``lorapilot render`` and ``lorapilot components``."""

from __future__ import annotations

import json

import click

from lorapilot.cli.common import workspace_option
from lorapilot.stack.clickopts import FullHelpGroup


def _gpu_flag(value: str):
    return {"auto": None, "yes": True, "no": False}[value]


_gpu_option = click.option(
    "--gpu",
    type=click.Choice(["auto", "yes", "no"]),
    default="auto",
    show_default=True,
    help="Render for a machine with or without an NVIDIA GPU.",
)


@click.group("render", cls=FullHelpGroup)
def render_group() -> None:
    """Print the process-manager configuration rendered from the registry."""


@render_group.command("process-compose")
@_gpu_option
@workspace_option
def render_pc(ctx, gpu: str) -> None:
    """Print the process-compose configuration (YAML)."""
    from lorapilot.stack.render import dump_yaml, render_process_compose

    plans = ctx.plan(_gpu_flag(gpu))
    click.echo(dump_yaml(render_process_compose(ctx.workspace, plans, ctx.manifest.lorapilot_python)), nl=False)


@render_group.command("supervisord")
@_gpu_option
@workspace_option
def render_sv(ctx, gpu: str) -> None:
    """Print the equivalent supervisord.conf."""
    from lorapilot.stack.render import render_supervisord

    plans = ctx.plan(_gpu_flag(gpu))
    click.echo(
        render_supervisord(ctx.workspace, plans, ctx.manifest.lorapilot_python, ctx.settings.manager.port), nl=False
    )


@click.command("components")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def components_cmd(ctx, as_json: bool) -> None:
    """List the components, their ports and whether they are installed."""
    plans = {p.name: p for p in ctx.plan(False)}
    rows = []
    for comp in ctx.registry:
        plan = plans.get(comp.name)
        rows.append(
            {
                "name": comp.name,
                "title": comp.spec.title,
                "port": comp.port,
                "enabled": comp.enabled,
                "autostart": comp.autostart,
                "installed": bool(plan and plan.installed),
                "install_hint": plan.install_hint if plan else None,
                "source": comp.spec.source.model_dump(exclude_none=True, exclude_defaults=True),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "installed" if row["installed"] else f"not installed ({row['install_hint']})"
        if not row["enabled"]:
            state = "disabled"
        click.echo(f"{row['name']:<14} {row['port']:>5}  {state}")

"""``lorapilot comfyui nodes``: a user's own ComfyUI nodes in the workspace (a thin shell over
``lorapilot.stack.install.user_nodes``)."""

from __future__ import annotations

from pathlib import Path

import click

from lorapilot.stack.clickopts import FullHelpGroup, workspace_option


@click.group("comfyui", cls=FullHelpGroup)
def comfyui_group() -> None:
    """ComfyUI's custom nodes: list, add or remove your own (apps/comfyui/custom_nodes/)."""


@comfyui_group.group("nodes", cls=FullHelpGroup)
def nodes_group() -> None:
    """Your own nodes: in apps/comfyui/custom_nodes/, their packages in apps/comfyui/overlay/.

    Both survive image updates; the packages sit on top of ComfyUI's pinned environment, never inside it.
    Restart ComfyUI (`lorapilot restart comfyui`) to load a change.
    """


def _comfy(ctx):
    """ComfyUI's state folder, its Python and its lock."""
    from lorapilot.stack.plan import resolve_component

    comp = ctx.registry.get("comfyui")
    plan = resolve_component(ctx.workspace, comp, ctx.registry, ctx.manifest, gpu_available=False)
    assert plan.env_path is not None  # a component that is not builtin always has one
    return ctx.workspace.state_dir("comfyui"), plan.env_path / "bin" / "python", comp.spec_path.parent / "uv.lock"


@nodes_group.command("list")
@workspace_option
def list_cmd(ctx) -> None:
    """The nodes in apps/comfyui/custom_nodes/, where each came from, and the overlay's packages."""
    from lorapilot.stack.components.custom_nodes import overlay_dir
    from lorapilot.stack.install.overlay import overlay_packages
    from lorapilot.stack.install.user_nodes import list_user_nodes

    state, _, _ = _comfy(ctx)
    nodes = list_user_nodes(state)
    if not nodes:
        click.echo(f"no nodes of your own in {state / 'custom_nodes'}")
    for node in nodes:
        origin = f"{node.origin} @ {node.rev[:12]}" if node.origin and node.rev else "(a folder)"
        needs = f"  needs: {', '.join(node.requirements)}" if node.requirements else ""
        click.echo(f"{node.name:<32} {origin}{needs}")
    packages = overlay_packages(overlay_dir(state))
    if packages:
        click.echo(f"overlay ({overlay_dir(state)}): " + ", ".join(f"{n}=={v}" for n, v in sorted(packages.items())))


@nodes_group.command("add")
@click.argument("source")
@click.option("--rev", help="The commit, tag or branch to check out (git sources; default: the default branch).")
@click.option("--name", help="The folder name under custom_nodes/ (default: the repository's or folder's name).")
@click.option(
    "--find-links",
    multiple=True,
    metavar="DIR",
    help="Also look for the node's packages in this folder of wheels (repeatable), e.g. to install offline.",
)
@workspace_option
def add_cmd(ctx, source: str, rev: str | None, name: str | None, find_links: tuple[str, ...]) -> None:
    """Add a node from a git URL, a local git repository or a folder.

    Its requirements.txt is checked against ComfyUI's lock (a conflicting package is refused, by name) and what
    ComfyUI's environment lacks is installed into apps/comfyui/overlay/.
    """
    from lorapilot.kit.progress import cli_progress
    from lorapilot.stack.install.tools import require
    from lorapilot.stack.install.user_nodes import add_user_node

    state, python, lock = _comfy(ctx)
    git = require("git", "fetch the node")
    uv = require("uv", "install the node's packages into the overlay")
    links = tuple(str(Path(folder).resolve()) for folder in find_links)
    with cli_progress(f"add node {name or source}", total=4) as progress:
        added = add_user_node(
            state, source, git=git, uv=uv, python=python, lock=lock, rev=rev, name=name, find_links=links,
            progress=progress,
        )  # fmt: skip
    click.echo(f"added {added.node.name} to {added.node.path}")
    if added.overlay_installed:
        click.echo(f"  into the overlay: {', '.join(added.overlay_installed)}")
    if added.locked_checked:
        click.echo(f"  already in ComfyUI's environment: {', '.join(added.locked_checked)}")
    click.echo("Restart ComfyUI to load it: `lorapilot restart comfyui`.")


@nodes_group.command("remove")
@click.argument("name")
@workspace_option
def remove_cmd(ctx, name: str) -> None:
    """Move a node to the workspace trash (`lorapilot trash restore ID` puts it back)."""
    from lorapilot.stack.install.user_nodes import remove_user_node

    state, _, _ = _comfy(ctx)
    item = remove_user_node(ctx.workspace.root, state, name)
    click.echo(f"moved {name} to the trash as {item.id} (restore: `lorapilot trash restore {item.id}`)")
    click.echo("Its packages stay in apps/comfyui/overlay/ (another node may use them).")

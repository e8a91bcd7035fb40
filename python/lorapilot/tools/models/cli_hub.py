"""``lorapilot models search | show | outdated | push``: CivitAI and the Hugging Face Hub from the CLI."""

from __future__ import annotations

import json

import click

from lorapilot.stack.clickopts import format_bytes, workspace_option
from lorapilot.stack.workspace.layout import MODEL_FOLDERS

SITES = ("civitai", "hf")
SORTS = ("downloads", "newest", "rating")


def _store(ctx):
    from lorapilot.tools.models.store import ModelStore

    return ModelStore.for_context(ctx)


def _tokens(ctx) -> dict[str, str]:
    from lorapilot.tools.models.pull import tokens_for

    return tokens_for(ctx.workspace)


@click.command("search")
@click.argument("query", required=False, default="")
@click.option("--site", type=click.Choice(SITES), default="civitai", show_default=True, help="Where to search.")
@click.option("--type", "folder", help="Store folder: loras, checkpoints, embeddings, vae, controlnet, ...")
@click.option("--family", help="Base family: sd1, sd2, sdxl, sd3, flux1, chroma, wan, ...")
@click.option("--sort", type=click.Choice(SORTS), default="downloads", show_default=True)
@click.option("--nsfw", is_flag=True, help="Include mature models and images (CivitAI).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--cursor", help="The next-page cursor a previous search printed (CivitAI).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def search_cmd(ctx, query, site, folder, family, sort, nsfw, limit, cursor, as_json) -> None:
    """Search CivitAI or Hugging Face for QUERY; each line ends with the source `models pull` takes."""
    from lorapilot.tools.models import sources
    from lorapilot.tools.models.browse import SearchQuery, search

    store = _store(ctx)
    spec = SearchQuery(
        site=site, query=query, type=folder, family=family, sort=sort, nsfw=nsfw, limit=limit, cursor=cursor
    )
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        page = search(spec, _tokens(ctx))
    if as_json:
        click.echo(page.model_dump_json(indent=2))
        return
    if not page.items:
        click.echo("nothing found")
    for model in page.items:
        stats = f"{model.downloads or 0:,} downloads"
        click.echo(f"{model.name}  [{model.type or '?'}]  by {model.creator or '?'}  {stats}  {model.url}")
        for version in model.versions[:3]:
            primary = next((f for f in version.files if f.primary), version.files[0] if version.files else None)
            size = format_bytes(primary.size) if primary and primary.size else "?"
            words = f"  triggers: {', '.join(version.trained_words)}" if version.trained_words else ""
            click.echo(f"    {version.name:<16} {version.base_model or '':<12} {size:>10}{words}")
            click.echo(f"        lorapilot models pull {version.pull}")
        if not model.detailed:
            click.echo(f"    files: lorapilot models show hf:{model.id}")
    if page.next:
        click.echo(f"more: --cursor {page.next}")


@click.command("show")
@click.argument("ref")
@click.option("--nsfw", is_flag=True, help="Include mature preview images (CivitAI).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def show_cmd(ctx, ref, nsfw, as_json) -> None:
    """Versions, files (size, sha256), trigger words and images of REF: civitai:MODEL_ID or hf:owner/repo."""
    from lorapilot.kit.errors import LorapilotError
    from lorapilot.tools.models import sources
    from lorapilot.tools.models.browse import civitai_details, hf_details

    store = _store(ctx)
    site, _, ident = ref.partition(":")
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        if site == "civitai" and ident.isdigit():
            model = civitai_details(int(ident), _tokens(ctx), nsfw)
        elif site == "hf" and ident.count("/") == 1:
            model = hf_details(ident, _tokens(ctx))
        else:
            raise LorapilotError(f"{ref!r}: expected civitai:MODEL_ID or hf:owner/repo")
    if as_json:
        click.echo(model.model_dump_json(indent=2))
        return
    click.echo(f"{model.name}  [{model.type or '?'}]  by {model.creator or '?'}  {model.url}")
    for version in model.versions:
        click.echo(f"  {version.name}  base: {version.base_model or '?'}  id: {version.id}")
        if version.trained_words:
            click.echo(f"    triggers: {', '.join(version.trained_words)}")
        for f in version.files:
            mark = "*" if f.primary else " "
            click.echo(f"   {mark}{f.name:<44} {format_bytes(f.size) if f.size else '?':>10}  sha256 {f.sha256 or '-'}")
        for image in version.images[:4]:
            click.echo(f"    image {image.url}")
        click.echo(f"    pull: lorapilot models pull {version.pull}")


@click.command("outdated")
@click.option("--type", "folder", type=click.Choice(MODEL_FOLDERS), help="Only this store folder.")
@click.option("--all", "show_all", is_flag=True, help="Also list current and unknown models.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def outdated_cmd(ctx, folder, show_all, as_json) -> None:
    """Installed models with a newer version: CivitAI by file hash, Hugging Face by repo revision."""
    from lorapilot.kit.progress import cli_progress
    from lorapilot.tools.models.updates import check_updates

    with cli_progress("checking") as progress:
        checks = check_updates(_store(ctx), _tokens(ctx), folder=folder, progress=progress)
    if as_json:
        click.echo(json.dumps([c.model_dump() for c in checks], indent=2))
        return
    shown = [c for c in checks if show_all or c.status in ("outdated", "error")]
    for check in shown:
        line = f"{check.status:<9} {check.rel}"
        if check.status == "outdated":
            line += f"  {check.current} -> {check.latest}  (lorapilot models pull {check.pull})"
        elif check.message:
            line += f"  {check.message}"
        click.echo(line)
    outdated = sum(c.status == "outdated" for c in checks)
    click.echo(f"{outdated} of {len(checks)} models have a newer version")


@click.command("push")
@click.argument("lora")
@click.argument("target")
@click.option("--public", is_flag=True, help="Make a new repo public (default: private).")
@click.option("--message", help="Commit message.")
@workspace_option
def push_cmd(ctx, lora, target, public, message) -> None:
    """Upload LORA to TARGET (hf:user/repo) with a generated model card and its sample images.

    LORA is a path from the current folder or from the store (loras/x.safetensors).
    The card names the base model, the trigger word and the training settings
    from TrainPilot's card. Needs a write token: `lorapilot secrets set HF_TOKEN`.
    """
    from lorapilot.tools.models import sources
    from lorapilot.tools.models.cli import _model_file
    from lorapilot.tools.models.publish import push_lora

    store = _store(ctx)
    path = _model_file(ctx, lora)
    click.echo(f"uploading {path.name} to {target} ({'public' if public else 'private'})...")
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        result = push_lora(
            path, target, _tokens(ctx).get("HF_TOKEN", ""), ctx.workspace.root, private=not public, message=message
        )
    for name in result.files:
        click.echo(f"  {name}")
    click.echo(f"pushed to {result.url} (commit {result.commit[:12]}, {'private' if result.private else 'public'})")

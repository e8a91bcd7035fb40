"""``lorapilot models ...``: a thin shell over :mod:`lorapilot.tools.models`."""

from __future__ import annotations

import json

import click

from lorapilot.stack.clickopts import FullHelpGroup, format_bytes, workspace_option
from lorapilot.stack.workspace.layout import MODEL_FOLDERS


def _store(ctx):
    from lorapilot.tools.models.store import ModelStore

    return ModelStore.for_context(ctx)


@click.group("models", cls=FullHelpGroup)
def models_group() -> None:
    """The shared model store: list, inspect, pull, move, rename, delete, restore."""


@models_group.command("list")
@click.option("--type", "folder", type=click.Choice(MODEL_FOLDERS), help="Only this store folder.")
@click.option(
    "--family",
    help="Only this base family (sd1, sd2, sdxl, sdxl_refiner, sd3, flux1, chroma, wan, lumina2, hidream, hunyuan_video, ltxv, qwen_image, flux2, zimage).",
)
@click.option(
    "--hash/--no-hash", "with_hashes", default=True, show_default=True, help="Compute missing hashes (cached)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def list_cmd(ctx, folder, family, with_hashes, as_json) -> None:
    """List the models of the store and every extra root (header only; hashes cached)."""
    from lorapilot.kit.progress import cli_progress

    store = _store(ctx)
    for root in store.unreachable_roots():
        click.echo(
            f"warning: extra root {root} is not reachable (unmounted volume?): its models are not listed", err=True
        )
    entries = store.list(folder=folder, family=family)
    if with_hashes and any(e.sha256 is None and e.format != "diffusers" for e in entries):
        with cli_progress("hashing", unit="bytes") as progress:
            store.hash_entries(entries, progress=progress)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    if not entries:
        click.echo("no models found" + (f" in {folder}/" if folder else ""))
        return
    click.echo(f"{'TYPE':<16} {'NAME':<40} {'KIND':<15} {'FAMILY':<13} {'SIZE':>10} {'DTYPE':<6} {'AUTOV2':<10}")
    for e in entries:
        kind = e.kind
        if e.rank:
            kind += f" r{e.rank}"
        click.echo(
            f"{e.folder:<16} {_short(e.rel.split('/', 1)[-1], 40):<40} {kind:<15} {(e.family_label or '-'):<13} "
            f"{format_bytes(e.size):>10} {(e.dtype or '-'):<6} {(e.autov2 or '-'):<10}"
        )
        for note in (e.error, e.warning):
            if note:
                click.echo(f"{'':<16} ! {note}")


def _model_file(ctx, file: str):
    """``file`` from the current folder, else from the store (inside it: never a path that leaves it)."""
    from pathlib import Path

    from lorapilot.kit.errors import NotFoundError
    from lorapilot.kit.safepath import PathEscapeError, resolve_inside

    if Path(file).is_file():
        return Path(file)
    models = ctx.workspace.models
    try:
        in_store = resolve_inside(models, file)
    except PathEscapeError:
        in_store = None
    if in_store is not None and in_store.is_file():
        return in_store
    raise NotFoundError(f"{file}: no such file, neither from the current folder nor in the store ({models})")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


@models_group.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--no-hash", is_flag=True, help="Skip the hashes.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def inspect_cmd(ctx, file, no_hash, as_json) -> None:
    """Read FILE's header (never its tensors): architecture, LoRA rank/alpha, metadata, tags.

    FILE is a path from the current folder or, when there is none, from the store (loras/x.safetensors).
    """
    from lorapilot.kit.progress import cli_progress
    from lorapilot.tools.models.inspect import inspect_file

    file = str(_model_file(ctx, file))
    report = inspect_file(file)
    if not no_hash:
        store = _store(ctx)
        report["hashes"] = store.cached_hashes(file)
        if report["hashes"] is None:
            with cli_progress("hashing", unit="bytes") as progress:
                report["hashes"] = store.hash(file, progress=progress)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    _print_report(report)


def _print_report(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    s = report["summary"]
    console.print(f"[bold]{report['name']}[/bold]  {format_bytes(report['size'])}  ({report['format']})")
    if s.get("error"):
        console.print(f"[red]error:[/red] {s['error']}")
    if s.get("warning"):
        console.print(f"[yellow]warning:[/yellow] {s['warning']}")
    rows = [
        ("kind", s.get("kind")),
        ("belongs in", (s.get("folder") or "-") + "/"),
        ("base family", s.get("family_label") or "unknown"),
        ("variant", s.get("variant")),
        ("dtype", s.get("dtype")),
        ("tensors", s.get("tensors")),
        ("parameters", f"{s['params']:,}" if s.get("params") else None),
        ("detected by", s.get("evidence")),
    ]
    lora = s.get("lora")
    if lora:
        rows += [
            ("adapter", lora["algo"]),
            ("rank", lora["rank"] if len(lora["ranks"]) <= 1 else f"{lora['rank']} (ranks {lora['ranks']})"),
            ("alpha", lora["alpha"] if lora["alpha"] is not None else "not stored (scale 1)"),
            ("scale", round(lora["scale"], 4) if lora.get("scale") is not None else None),
            ("modules", lora["modules"]),
            ("text encoder", "yes" if lora["text_encoder"] else "no"),
        ]
    for key, value in (report.get("hashes") or {}).items():
        rows.append((key, value))
    for key, value in rows:
        if value not in (None, ""):
            console.print(f"  {key:<13} {value}")
    if report.get("training"):
        console.print("[bold]training[/bold]")
        for key, value in report["training"].items():
            console.print(f"  {key:<28} {_short(value, 100)}")
    others = {k: v for k, v in report.get("metadata", {}).items() if k not in report.get("training", {})}
    if others:
        console.print("[bold]other metadata[/bold]")
        for key, value in others.items():
            console.print(f"  {key:<28} {_short(value, 100)}")
    if report.get("tag_frequency"):
        table = Table(title="ss_tag_frequency", show_lines=False)
        table.add_column("dataset")
        table.add_column("tag")
        table.add_column("count", justify="right")
        for row in report["tag_frequency"]:
            table.add_row(row["dataset"], row["tag"], str(row["count"]))
        console.print(table)


@models_group.command("move")
@click.argument("path")
@click.argument("to_type", type=click.Choice(MODEL_FOLDERS))
@workspace_option
def move_cmd(ctx, path, to_type) -> None:
    """Move PATH (e.g. checkpoints/x.safetensors) to another type folder."""
    click.echo(f"moved to {_store(ctx).move(path, to_type)}")


@models_group.command("rename")
@click.argument("path")
@click.argument("new_name")
@workspace_option
def rename_cmd(ctx, path, new_name) -> None:
    """Rename PATH to NEW_NAME (same folder; the suffix is kept if omitted)."""
    click.echo(f"renamed to {_store(ctx).rename(path, new_name)}")


@models_group.command("delete")
@click.argument("path")
@workspace_option
def delete_cmd(ctx, path) -> None:
    """Move PATH (and its preview/info files) to the trash; `models restore ID` brings it back."""
    for item in _store(ctx).delete(path):
        click.echo(f"trashed {item.original}  (restore: lorapilot models restore {item.id})")


@models_group.command("restore")
@click.argument("item_id", required=False)
@workspace_option
def restore_cmd(ctx, item_id) -> None:
    """Restore a deleted model by trash ID; without ID, list deleted models."""
    store = _store(ctx)
    if item_id:
        click.echo(f"restored {store.restore(item_id)}")
        return
    items = store.trash_items()
    if not items:
        click.echo("no deleted models")
    for item in items:
        click.echo(f"{item['id']}  {item['original']}  {format_bytes(item['size'])}")


@models_group.command("pull")
@click.argument("source", required=False)
@click.option(
    "--type", "folder", type=click.Choice(MODEL_FOLDERS), help="Store folder (default: from the source, else detected)."
)
@click.option("--manifest", "manifest_name", help="Pull a named entry of config/models.toml (and what it requires).")
@workspace_option
def pull_cmd(ctx, source, folder, manifest_name) -> None:
    """Download SOURCE into the store: hf:owner/repo[/file], a CivitAI URL/id/AIR, or a URL.

    Interrupted pulls resume where they stopped; checksums from the source are
    verified before the file is placed. Tokens: `lorapilot secrets set HF_TOKEN`
    / `CIVITAI_TOKEN`.
    """
    from lorapilot.kit.errors import LorapilotError
    from lorapilot.kit.progress import cli_progress
    from lorapilot.tools.models.pull import pull, pull_manifest

    if bool(source) == bool(manifest_name):
        raise LorapilotError("give either SOURCE or --manifest NAME (see `lorapilot models manifest`)")
    store = _store(ctx)
    with cli_progress("downloading", unit="bytes") as progress:
        if manifest_name:
            if folder:
                raise LorapilotError("--type comes from config/models.toml with --manifest")
            results = pull_manifest(store, manifest_name, progress=progress)
        else:
            results = [pull(store, source, folder, progress=progress)]
    for result in results:
        for path in result.placed:
            click.echo(f"placed {path}")
        for path in result.existing:
            click.echo(f"already in the store: {path} (nothing downloaded)")
    if any(r.placed for r in results):
        from lorapilot.tools.models.invokeai import register_new_models

        report = register_new_models(ctx)  # InvokeAI keeps its own list: show it the new model now, if it runs
        if report is not None and report.installed:
            click.echo(f"registered with InvokeAI: {', '.join(report.installed)}")


@models_group.command("partials")
@click.option("--clear", is_flag=True, help="Delete them to free the space (those pulls then start over).")
@workspace_option
def partials_cmd(ctx, clear) -> None:
    """Partial downloads kept in models/.incoming, which the next pull of the same source resumes."""
    from lorapilot.tools.models.pull import clear_incoming, partial_downloads

    store = _store(ctx)
    if clear:
        click.echo(f"freed {format_bytes(clear_incoming(store))}")
        return
    partials = partial_downloads(store)
    if not partials:
        click.echo("no partial downloads")
    for path, size in partials:
        click.echo(f"{format_bytes(size):>10}  {path}")


@models_group.command("manifest")
@workspace_option
def manifest_cmd(ctx) -> None:
    """List the named models of config/models.toml (`pull --manifest NAME`)."""
    from lorapilot.tools.models.manifest import load_manifest

    manifest = load_manifest(ctx.workspace)
    for name, entry in manifest.models.items():
        needs = f"  (+ {', '.join(entry.requires)})" if entry.requires else ""
        click.echo(f"{name:<20} {(entry.type or '-'):<17} {entry.description}{needs}")


@models_group.command("sync-invokeai")
@click.option("--url", help="InvokeAI's address (default: http://127.0.0.1:<its port>).")
@click.option(
    "--wait", "wait_s", type=float, default=0, show_default=True, help="Seconds to wait for InvokeAI to answer."
)
@click.option("--retry-failed", is_flag=True, help="Try again the files InvokeAI rejected before.")
@workspace_option
def sync_invokeai_cmd(ctx, url, wait_s, retry_failed) -> None:
    """Register store models with InvokeAI in place (skips installed ones; runs after each InvokeAI start)."""
    from lorapilot.kit.progress import cli_progress
    from lorapilot.tools.models.invokeai import sync_for_context

    # InvokeAI probes and hashes each model it registers: a big store takes minutes.
    with cli_progress("registering with InvokeAI") as progress:
        report = sync_for_context(ctx, url=url, wait_s=wait_s, retry_failed=retry_failed, progress=progress)
    for path in report.installed:
        click.echo(f"registered {path}")
    for path, error in report.failed:
        click.echo(f"rejected   {path}: {error}")
    click.echo(
        f"InvokeAI: {len(report.installed)} registered, {len(report.already)} already there, "
        f"{len(report.failed)} rejected, {len(report.skipped)} skipped (rejected before; --retry-failed)"
    )


def _add_hub_commands() -> None:
    from lorapilot.tools.models.cli_hub import outdated_cmd, push_cmd, search_cmd, show_cmd

    for command in (search_cmd, show_cmd, outdated_cmd, push_cmd):
        models_group.add_command(command)


_add_hub_commands()

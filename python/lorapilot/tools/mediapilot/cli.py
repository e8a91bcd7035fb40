"""``lorapilot mediapilot ...``: scan, search, show, watch, organise, trash, zip, send to ComfyUI."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import click

from lorapilot.stack.clickopts import FullHelpGroup, format_bytes, workspace_option
from lorapilot.tools.mediapilot.query_help import QUERY_HELP


def _open(ctx):
    from lorapilot.tools.mediapilot.library import MediaLibrary

    return MediaLibrary.open(ctx)


def _print_batch(result, verb: str) -> None:
    click.echo(f"{verb} {len(result.done)} item(s)")
    for media_id, why in result.failed.items():
        click.echo(f"  {media_id}: {why}", err=True)
    if result.failed:
        sys.exit(1)


@click.group("media", cls=FullHelpGroup)
def media_group() -> None:
    """MediaPilot: index, search and organise everything generated (outputs/ + extra roots)."""


@media_group.command("scan")
@workspace_option
def scan_cmd(ctx) -> None:
    """Index new and changed files, drop vanished ones (incremental)."""
    _scan(_open(ctx))


def _scan(lib) -> None:
    from lorapilot.kit.progress import cli_progress

    with cli_progress("Scanning media") as progress:
        report = lib.scan(progress)
    click.echo(
        f"{report.seen} files: {report.added} added, {report.updated} updated, {report.moved} moved, "
        f"{report.removed} removed, {report.unchanged} unchanged, {report.flagged} flagged "
        f"({report.seconds:.2f} s)"
    )
    for error in report.errors:
        click.echo(f"warning: {error}", err=True)


@media_group.command("search", epilog=QUERY_HELP)
@click.argument("query", nargs=-1)
@click.option("--sort", type=click.Choice(["date", "name", "size"]), default="date")
@click.option("--asc", is_flag=True, help="Oldest / smallest / A first.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@workspace_option
def search_cmd(ctx, query, sort, asc, limit, as_json) -> None:
    """Search with the query language, e.g. 'castle lora:detail steps>=20 -tag:rejected'."""
    from lorapilot.tools.mediapilot.query import search

    lib = _open(ctx)
    page = search(lib.index.read(), " ".join(query), sort, "asc" if asc else "desc", limit=limit, with_total=True)
    roots = lib.index.roots()
    for row in page.rows:
        if as_json:
            click.echo(json.dumps(dict(row)))
            continue
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["mtime_ns"] / 1e9))
        flag = " !" if row["error"] else ""
        click.echo(
            f"{row['id']:>7}  {when}  {roots[row['root_id']][1]}/{row['rel']}  "
            f"{row['source'] or '-'}  seed={row['seed'] or '-'}{flag}"
        )
    if not as_json:
        click.echo(f"{page.total} match(es)" + (f", showing {len(page.rows)}" if page.total > len(page.rows) else ""))


@media_group.command("show")
@click.argument("media_id", type=int)
@click.option("--raw", is_flag=True, help="Print the raw metadata chunks too.")
@click.option("--json", "as_json", is_flag=True, help="Every stored field as JSON (inode, mtime_ns...).")
@workspace_option
def show_cmd(ctx, media_id, raw, as_json) -> None:
    """Everything known about one item: file, generation settings, LoRAs, tags."""
    lib = _open(ctx)
    data = lib.detail(media_id)
    if raw:
        data["raw"] = lib.raw_chunks(media_id)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    for line in describe(data):
        click.echo(line)


# What a person reads in `media show`, in order; --json has every stored column.
_SHOWN = (
    ("prompt", "positive"),
    ("negative", "negative"),
    ("model", "model"),
    ("seed", "seed"),
    ("steps", "steps"),
    ("cfg", "cfg"),
    ("sampler", "sampler"),
    ("scheduler", "scheduler"),
    ("denoise", "denoise"),
    ("source", "source"),
    ("error", "error"),
)


def describe(data: dict) -> list[str]:
    """``media show``'s human lines for one item (see ``--json`` for the rest)."""
    from lorapilot.stack.clickopts import format_bytes

    size = f"{data['width']}×{data['height']}" if data.get("width") else ""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(data["mtime_ns"] / 1e9))
    what = " ".join(part for part in (data["kind"], data.get("format"), size, format_bytes(data["size"])) if part)
    lines = [f"#{data['id']} {data['rel']} ({data['root']})", f"  {what}, {when}"]
    for label, key in _SHOWN:
        value = data.get(key)
        if value not in (None, ""):
            lines.append(f"  {label + ':':<10} {value}")
    for lora in data.get("loras") or []:
        lines.append(f"  {'lora:':<10} {lora.get('name')} {lora.get('weight', '')}".rstrip())
    if data.get("tags"):
        lines.append(f"  {'tags:':<10} {', '.join(data['tags'])}")
    if data.get("fav"):
        lines.append("  favourite")
    if data.get("has_workflow"):
        lines.append("  workflow: stored (ComfyUI graph)")
    for key, text in (data.get("raw") or {}).items():
        lines.append(f"  raw {key}: {text}")
    return lines


@media_group.command("watch")
@workspace_option
def watch_cmd(ctx) -> None:
    """Keep the index fresh until interrupted (ControlPilot does this itself while it runs)."""
    from lorapilot.tools.mediapilot.watch import watch

    lib = _open(ctx)
    stop = threading.Event()

    def report(r) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} +{r.added} ~{r.updated} -{r.removed}")

    click.echo(f"watching {', '.join(str(r.path) for r in lib.roots())} (Ctrl-C to stop)")
    try:
        watch(lib, stop, report)
    except KeyboardInterrupt:
        stop.set()


@media_group.command("fav")
@click.argument("ids", type=int, nargs=-1, required=True)
@click.option("--off", is_flag=True, help="Remove from favourites.")
@workspace_option
def fav_cmd(ctx, ids, off) -> None:
    """Mark items as favourites (or not)."""
    from lorapilot.tools.mediapilot.organise import set_favourite

    click.echo(f"{set_favourite(_open(ctx), ids, not off)} item(s) updated")


@media_group.command("tag")
@click.argument("ids", type=int, nargs=-1, required=True)
@click.option("--add", "-a", multiple=True, help="Tag to add (repeatable).")
@click.option("--remove", "-r", multiple=True, help="Tag to remove (repeatable).")
@workspace_option
def tag_cmd(ctx, ids, add, remove) -> None:
    """Add or remove tags on items."""
    from lorapilot.tools.mediapilot.organise import tag

    click.echo(f"{tag(_open(ctx), ids, add, remove)} item(s) tagged")


def _transfer_command(name: str, verb: str, doc: str):
    @media_group.command(name, help=doc)
    @click.argument("ids", type=int, nargs=-1, required=True)
    @click.option("--to", "dest", required=True, help="Folder in outputs/ (or ROOT:folder for an extra root).")
    @workspace_option
    def command(ctx, ids, dest) -> None:
        from lorapilot.tools.mediapilot import organise

        _print_batch(getattr(organise, name)(_open(ctx), ids, dest), verb)

    return command


move_cmd = _transfer_command("move", "moved", "Move items to a folder (never overwrites).")
copy_cmd = _transfer_command("copy", "copied", "Copy items to a folder (never overwrites).")


@media_group.command("trash")
@click.argument("ids", type=int, nargs=-1)
@workspace_option
def trash_cmd(ctx, ids) -> None:
    """Move items to the trash, or list the trash when no ids are given."""
    from lorapilot.tools.mediapilot.organise import trash, trash_list

    lib = _open(ctx)
    if ids:
        _print_batch(trash(lib, ids), "trashed")
        return
    for item in trash_list(lib):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item["deleted_at"]))
        click.echo(f"{item['id']:>7}  {when}  {item['rel']}  {format_bytes(item['size'])}")


@media_group.command("restore")
@click.argument("ids", type=int, nargs=-1, required=True)
@workspace_option
def restore_cmd(ctx, ids) -> None:
    """Put trashed items back where they were."""
    from lorapilot.tools.mediapilot.organise import restore

    _print_batch(restore(_open(ctx), ids), "restored")


@media_group.command("empty-trash")
@click.option("--all", "everything", is_flag=True, help="Everything, not only items older than the policy.")
@click.option("--older-than", type=float, default=None, help="Days (default: [mediapilot] trash_keep_days).")
@click.option("--yes", is_flag=True, help="Do not ask.")
@workspace_option
def empty_trash_cmd(ctx, everything, older_than, yes) -> None:
    """Delete trashed media for good (the only command that does)."""
    from lorapilot.tools.mediapilot.organise import empty_trash

    lib = _open(ctx)
    what = (
        "every trashed media item"
        if everything
        else f"trashed media older than {older_than if older_than is not None else lib.settings.trash_keep_days:g} days"
    )
    if not yes:
        click.confirm(f"Delete {what} for good?", abort=True)
    result = empty_trash(lib, everything=everything, older_than_days=older_than)
    click.echo(f"deleted {result['removed']} item(s), {format_bytes(result['bytes'])} freed")


@media_group.command("zip")
@click.argument("ids", type=int, nargs=-1, required=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@workspace_option
def zip_cmd(ctx, ids, output) -> None:
    """Write a zip of the items."""
    from lorapilot.tools.mediapilot.organise import zip_stream

    tmp = output.with_name(f".{output.name}.part")  # then renamed: never a half-written zip
    with open(tmp, "wb") as fh:
        for block in zip_stream(_open(ctx), ids):
            fh.write(block)
    tmp.replace(output)
    click.echo(f"wrote {output} ({format_bytes(output.stat().st_size)})")


@media_group.command("send-to-comfy")
@click.argument("media_id", type=int)
@click.option("--url", default=None, help="ComfyUI address (default: this workspace's ComfyUI).")
@workspace_option
def send_cmd(ctx, media_id, url) -> None:
    """Queue an image's stored ComfyUI workflow on ComfyUI."""
    from lorapilot.tools.mediapilot.comfy_send import comfy_url, send_to_comfy

    answer = send_to_comfy(_open(ctx), media_id, url or comfy_url(ctx))
    click.echo(f"queued as prompt {answer.get('prompt_id')} (#{answer.get('number')})")


@media_group.group("roots", invoke_without_command=True)
@click.option(
    "--workspace", "-w", type=click.Path(), envvar="LORAPILOT_WORKSPACE", help="Workspace root (for the list)."
)
@click.pass_context
def roots_group(click_ctx, workspace) -> None:
    """The folders indexed: outputs/ plus [mediapilot] extra_roots (list, add, remove)."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(roots_list_cmd, workspace=workspace, as_json=False)


@roots_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@workspace_option
def roots_list_cmd(ctx, as_json) -> None:
    """Each root with its indexed file count and whether it is reachable."""
    from lorapilot.tools.mediapilot.roots import list_roots

    roots = list_roots(_open(ctx))
    if as_json:
        click.echo(json.dumps(roots, indent=2))
        return
    for root in roots:
        state = "reachable" if root["reachable"] else "UNREACHABLE"
        click.echo(f"{root['label']}\t{root['path']}\t{root['files']} file(s)\t{state}")


@roots_group.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-scan", is_flag=True, help="Only record it (the watcher or the next scan indexes it).")
@workspace_option
def roots_add_cmd(ctx, path, no_scan) -> None:
    """Index a folder beside outputs/ (recorded in config/lorapilot.toml, comments kept)."""
    from lorapilot.tools.mediapilot.roots import add_root

    lib = _open(ctx)
    root = add_root(lib, str(path.expanduser().absolute()))
    click.echo(f"added media root {root['path']}")
    if not no_scan:
        _scan(lib)


@roots_group.command("remove")
@click.argument("path")
@workspace_option
def roots_remove_cmd(ctx, path) -> None:
    """Stop indexing an extra root; its files stay on disk, their favourites and tags come back if re-added."""
    from lorapilot.tools.mediapilot.roots import remove_root

    result = remove_root(_open(ctx), path if path == "outputs" else str(Path(path).expanduser().absolute()))
    click.echo(f"removed media root {result['removed']} ({result['unindexed']} file(s) left the index)")

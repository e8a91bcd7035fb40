"""``lorapilot tagpilot ...``: TagPilot on the command line, a thin shell over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import cli_progress
from lorapilot.kit.videofiles import is_clip_name
from lorapilot.stack.clickopts import FullHelpGroup, format_bytes, workspace_option
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot import edits


def _ds(ctx, name: str) -> datasets.Dataset:
    return datasets.open_dataset(ctx.workspace, name)


def _json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group("dataset", cls=FullHelpGroup)
def dataset_group() -> None:
    """TagPilot: import, caption, tag, check and export datasets (datasets/<name>/)."""


@dataset_group.command("list")
@workspace_option
def list_cmd(ctx) -> None:
    """List datasets with image and caption counts."""
    from lorapilot.tools.tagpilot.index import scan
    from lorapilot.tools.tagpilot.metadata import read_meta

    for ds in datasets.list_datasets(ctx.workspace):
        records = scan(ds, with_sizes=False)
        captioned = sum(1 for r in records if r.captioned)
        meta = read_meta(ds).regularization
        click.echo(
            f"{ds.name:<30} {len(records):>7} images  {captioned:>7} captioned" + ("  [regularization]" if meta else "")
        )


@dataset_group.command("create")
@click.argument("name")
@workspace_option
def create_cmd(ctx, name: str) -> None:
    """Create an empty dataset."""
    ds = datasets.create_dataset(ctx.workspace, name)
    click.echo(f"created {ds.path}")


@dataset_group.command("rename")
@click.argument("name")
@click.argument("new_name")
@workspace_option
def rename_cmd(ctx, name: str, new_name: str) -> None:
    """Rename a dataset."""
    ds = datasets.rename_dataset(ctx.workspace, name, new_name)
    click.echo(f"renamed to {ds.path}")


@dataset_group.command("delete")
@click.argument("name")
@workspace_option
def delete_cmd(ctx, name: str) -> None:
    """Move a dataset to the workspace trash (restorable)."""
    item = datasets.delete_dataset(ctx.workspace, name)
    click.echo(f"moved {name} to the trash (item {item.id})")


@dataset_group.command("mark-reg")
@click.argument("name")
@click.option("--off", is_flag=True, help="Unmark: make it a training set again.")
@workspace_option
def mark_reg_cmd(ctx, name: str, off: bool) -> None:
    """Mark a dataset as a regularization (class image) set for TrainPilot's [regularization]."""
    from lorapilot.tools.tagpilot.metadata import mark_regularization

    meta = mark_regularization(_ds(ctx, name), on=not off)
    click.echo(f"{name}: {'regularization set' if meta.regularization else 'training set'}")


@dataset_group.command("stats")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@workspace_option
def stats_cmd(ctx, name: str, as_json: bool) -> None:
    """Images, sizes, aspect ratios and captioned share."""
    from lorapilot.tools.tagpilot.index import dataset_stats

    stats = dataset_stats(_ds(ctx, name))
    if as_json:
        _json(stats)
        return
    click.echo(
        f"{stats['name']}: {stats['images']} images, {format_bytes(stats['bytes'])}, "
        f"{stats['captioned']} captioned ({stats['captioned_pct']}%)"
    )
    for key in ("width", "height"):
        if stats[key]:
            click.echo(f"  {key}: {stats[key]['min']}–{stats[key]['max']} (mean {stats[key]['mean']})")
    click.echo("  aspect ratios: " + ", ".join(f"{k} {v}" for k, v in stats["aspect_ratios"].items()))
    click.echo("  shorter side: " + ", ".join(f"{k} {v}" for k, v in stats["short_side"].items()))
    for key in ("undecodable", "non_utf8_captions", "excluded"):
        if stats[key]:
            click.echo(f"  {key.replace('_', ' ')}: {stats[key]}")


@dataset_group.command("import")
@click.argument("name")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--move", is_flag=True, help="Move files from a folder instead of copying.")
@click.option("--create", is_flag=True, help="Create the dataset if it does not exist.")
@workspace_option
def import_cmd(ctx, name: str, source: Path, move: bool, create: bool) -> None:
    """Import images and video clips (mp4/webm/mov) with their .txt captions, from a folder or a .zip file."""
    from lorapilot.tools.tagpilot.importer import import_folder, import_zip

    try:
        ds = _ds(ctx, name)
    except LorapilotError:
        if not create:
            raise
        ds = datasets.create_dataset(ctx.workspace, name)
    with cli_progress(f"import into {name}") as progress:
        if source.is_dir():
            report = import_folder(ds, source, move=move, progress=progress)
        else:
            report = import_zip(ds, source, progress=progress)
    clips = sum(1 for n in report.imported if is_clip_name(n))
    clip_part = f", {clips} clips" if clips else ""
    click.echo(f"imported {len(report.imported) - clips} images{clip_part}, {report.captions} captions")
    for old, new in report.renamed.items():
        click.echo(f"  renamed {old} -> {new}")
    for file, reason in report.skipped:
        click.echo(f"  skipped {file}: {reason}")
    for file, reason in report.warnings:
        click.echo(f"  warning {file}: {reason}")


@dataset_group.command("images")
@click.argument("name")
@click.option("-q", "--query", default=None, help="Filter, e.g. 'tag:\"white shirt\" AND width>=1024'.")
@workspace_option
def images_cmd(ctx, name: str, query: str | None) -> None:
    """List images and clips (with sizes, clip facts and captions) matching a query."""
    from lorapilot.kit.videofiles import clip_facts_text
    from lorapilot.tools.tagpilot.index import scan
    from lorapilot.tools.tagpilot.query import parse_query

    for record in parse_query(query).filter(scan(_ds(ctx, name))):
        if record.clip is not None:
            size = f"clip {clip_facts_text(record.clip)}"
        else:
            size = f"{record.width}x{record.height}" if record.width else "undecodable"
        flag = " [non-UTF-8]" if record.caption.non_utf8 else ""
        click.echo(f"{record.name}\t{size}\t{record.caption.text}{flag}")


@dataset_group.command("caption")
@click.argument("name")
@click.argument("image")
@click.option("--set", "text", default=None, help="Write this caption (based on the current version).")
@workspace_option
def caption_cmd(ctx, name: str, image: str, text: str | None) -> None:
    """Show, or with --set write, one image's caption."""
    from lorapilot.tools.tagpilot.captions import read_caption

    ds = _ds(ctx, name)
    ds.image_path(image)
    current = read_caption(ds.caption_path(image), ds.boundary)
    if text is None:
        click.echo(current.text + (" [non-UTF-8: read with replacement]" if current.non_utf8 else ""))
        return
    edits.edit_caption(ds, image, text, current.version)
    click.echo(f"wrote {ds.caption_path(image).name}")


@dataset_group.command("tags")
@click.argument("name")
@click.option("-q", "--query", default=None, help="Count only images matching this query.")
@click.option("--prefix", default=None, help="Autocomplete: tags starting with this.")
@click.option("--limit", default=50, show_default=True)
@workspace_option
def tags_cmd(ctx, name: str, query: str | None, prefix: str | None, limit: int) -> None:
    """The tag frequency table (or autocomplete with --prefix)."""
    from lorapilot.tools.tagpilot.index import autocomplete, dataset_tag_frequency, tag_frequency

    ds = _ds(ctx, name)
    frequency = tag_frequency(edits.select(ds, query)) if query else dataset_tag_frequency(ds)
    rows = autocomplete(frequency, prefix, limit) if prefix is not None else frequency[:limit]
    for tag, count in rows:
        click.echo(f"{count:>7}  {tag}")


@dataset_group.command("op")
@click.argument("name")
@click.argument(
    "kind", type=click.Choice(["add", "remove", "replace", "find_replace", "dedupe", "sort", "consolidate"])
)
@click.option("--tag", help="add/replace: the tag.")
@click.option("--tags", "tag_list", multiple=True, help="remove: a tag to remove (repeatable; * wildcards).")
@click.option("--new", help="replace: the new tag ('' removes).")
@click.option("--position", type=int, help="add: 0 = first (default), -1 = last.")
@click.option("--find", help="find_replace: text (or --regex pattern) to find.")
@click.option("--replace", "replace_with", help="find_replace: replacement.")
@click.option("--regex", is_flag=True, default=None)
@click.option("--ignore-case", is_flag=True, default=None)
@click.option("--keep-first", type=int, help="sort: leave the first N tags in place.")
@click.option("--by-frequency", is_flag=True, default=None, help="sort: most frequent in the dataset first.")
@click.option("-q", "--query", default=None, help="Only images matching this query.")
@click.option("--apply", "do_apply", is_flag=True, help="Write the changes (default: preview only).")
@workspace_option
def op_cmd(
    ctx,
    name,
    kind,
    tag,
    tag_list,
    new,
    position,
    find,
    replace_with,
    regex,
    ignore_case,
    keep_first,
    by_frequency,
    query,
    do_apply,
) -> None:
    """Preview (default) or --apply a bulk operation; applied operations can be undone."""
    from lorapilot.tools.tagpilot.tags import make_op

    op = make_op(
        kind,
        tag=tag,
        tags=list(tag_list) or None,
        new=new,
        position=position,
        find=find,
        replace=replace_with,
        regex=regex,
        ignore_case=ignore_case,
        keep_first=keep_first,
        by_frequency=by_frequency,
    )
    ds = _ds(ctx, name)
    preview = edits.preview_op(ds, op, query)
    _show_preview(preview)
    if not preview.diffs:
        return
    if not do_apply:
        click.echo("preview only: add --apply to write")
        return
    while True:
        entry, fresh = edits.apply_previewed(ds, op, preview, query)
        if entry is not None:
            click.echo(f"applied (history entry {entry.id}; `lorapilot tagpilot undo {name}` reverts it)")
            return
        click.echo("\ncaptions changed since the preview (another writer); the preview now reads:", err=True)
        _show_preview(fresh)
        if not fresh.diffs:
            click.echo("nothing left to change", err=True)
            return
        if not (sys.stdin.isatty() and click.confirm("apply this new preview?", default=False)):
            raise LorapilotError(
                f"not applied: {len(fresh.diffs)} caption(s) would now change differently than "
                "previewed; run the command again to apply the new preview"
            )
        preview = fresh


def _show_preview(preview) -> None:
    for diff in preview.diffs[:200]:
        click.echo(diff.unified(), nl=False)
    if len(preview.diffs) > 200:
        click.echo(f"... and {len(preview.diffs) - 200} more")
    click.echo(f"{preview.description}: {len(preview.diffs)} of {preview.selected} captions change")


@dataset_group.command("undo")
@click.argument("name")
@workspace_option
def undo_cmd(ctx, name: str) -> None:
    """Undo the newest applied caption change (works across restarts)."""
    entry = edits.undo(_ds(ctx, name))
    click.echo(f"undid #{entry.id}: {entry.description} ({entry.files} files)")


@dataset_group.command("redo")
@click.argument("name")
@workspace_option
def redo_cmd(ctx, name: str) -> None:
    """Redo the change undone last."""
    entry = edits.redo(_ds(ctx, name))
    click.echo(f"redid #{entry.id}: {entry.description} ({entry.files} files)")


@dataset_group.command("history")
@click.argument("name")
@click.option("--limit", default=20, show_default=True)
@workspace_option
def history_cmd(ctx, name: str, limit: int) -> None:
    """List caption changes, newest first."""
    import time

    for entry in edits.history_state(_ds(ctx, name), limit)["entries"]:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry["created_at"]))
        click.echo(f"#{entry['id']:<5} {when}  {entry['state']:<8} {entry['files']:>6} files  {entry['description']}")


from lorapilot.tools.tagpilot.cli_frames import frames_cmd  # noqa: E402
from lorapilot.tools.tagpilot.cli_jobs import autocaption_cmd, check_cmd, exclude_cmd, export_cmd, include_cmd  # noqa: E402

for _command in (autocaption_cmd, check_cmd, export_cmd, exclude_cmd, include_cmd, frames_cmd):
    dataset_group.add_command(_command)

from lorapilot.tools.tagpilot.cli_crop import crop_cmd  # noqa: E402

dataset_group.add_command(crop_cmd)

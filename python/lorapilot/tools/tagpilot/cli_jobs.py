"""``lorapilot tagpilot autocaption|check|exclude|include|export``: the longer-running commands."""

from __future__ import annotations

import click

from lorapilot.kit.progress import cli_progress
from lorapilot.stack.clickopts import workspace_option
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.local_captioners import JOY_CAPTION_TYPES, JOY_LENGTHS, LOCAL_NAMES


@click.command("autocaption")
@click.argument("name")
@click.option("--captioner", type=click.Choice(["wd14", "vlm", *LOCAL_NAMES]), required=True)
@click.option(
    "--mode",
    type=click.Choice(["ignore", "append", "overwrite"]),
    default="ignore",
    show_default=True,
    help="What to do with an existing caption.",
)
@click.option("-q", "--query", default=None, help="Only images matching this query.")
@click.option(
    "--model-dir",
    help="wd14: folder with model.onnx + selected_tags.csv (default: [tagpilot] wd14_model_dir); "
    "florence2/joycaption/qwen25vl: the model's folder (default: [tagpilot] local_models_dir/CAPTIONER).",
)
@click.option("--general-threshold", type=float, default=0.35, show_default=True)
@click.option("--character-threshold", type=float, default=0.85, show_default=True)
@click.option("--mcut", is_flag=True, help="wd14: MCut thresholds for general and character tags.")
@click.option("--rating", is_flag=True, help="wd14: put the rating tag first.")
@click.option("--exclude", "exclude_tags", multiple=True, help="wd14: never write this tag (repeatable).")
@click.option("--base-url", help="vlm: OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.")
@click.option("--model", help="vlm: model name.")
@click.option(
    "--prompt",
    help="vlm: prompt template ({name}, {caption}, {trigger}); florence2: the task (<CAPTION>, <DETAILED_CAPTION>, "
    "<MORE_DETAILED_CAPTION>); joycaption, qwen25vl: the instruction.",
)
@click.option("--trigger", help="vlm: value of {trigger} in the prompt.")
@click.option(
    "--caption-type",
    type=click.Choice(list(JOY_CAPTION_TYPES)),
    default="descriptive",
    show_default=True,
    help="joycaption: the kind of caption (unless --prompt).",
)
@click.option(
    "--caption-length",
    type=click.Choice(list(JOY_LENGTHS)),
    default="long",
    show_default=True,
    help="joycaption: how long (unless --prompt).",
)
@click.option("--max-new-tokens", type=int, default=256, show_default=True, help="Local captioners: longest caption.")
@click.option(
    "--temperature", type=float, default=0.0, show_default=True, help="Local captioners: 0 = greedy, else sampling."
)
@workspace_option
def autocaption_cmd(
    ctx,
    name,
    captioner,
    mode,
    query,
    model_dir,
    general_threshold,
    character_threshold,
    mcut,
    rating,
    exclude_tags,
    base_url,
    model,
    prompt,
    trigger,
    caption_type,
    caption_length,
    max_new_tokens,
    temperature,
) -> None:
    """Caption images with the WD14 ONNX tagger, a vision-language model server, or a local
    Florence-2 / JoyCaption / Qwen2.5-VL model (GPU when present). Undoable."""
    from lorapilot.tools.tagpilot.captioners import make_local, make_vlm, make_wd14
    from lorapilot.tools.tagpilot.captioning import run_captioner

    ds = datasets.open_dataset(ctx.workspace, name)
    if captioner == "wd14":
        runner = make_wd14(
            ctx,
            model_dir,
            confine=False,
            general_threshold=general_threshold,
            character_threshold=character_threshold,
            general_mcut=mcut,
            character_mcut=mcut,
            include_rating=rating,
            exclude=list(exclude_tags),
        )
    elif captioner == "vlm":
        runner = make_vlm(ctx, base_url=base_url, model=model, prompt=prompt, trigger_word=trigger)
    else:
        runner = make_local(
            ctx,
            captioner,
            model_dir,
            confine=False,
            prompt=prompt,
            caption_type=caption_type,
            caption_length=caption_length,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
        )
    try:
        with cli_progress(f"{captioner} {name}") as progress:
            report = run_captioner(ds, runner, mode, query, progress=progress)
    finally:
        if hasattr(runner, "close"):
            runner.close()
    click.echo(
        f"{report.written} written, {report.unchanged} unchanged, {report.skipped} skipped, "
        f"{len(report.errors)} errors" + (" (cancelled)" if report.cancelled else "")
    )
    for error in report.errors:
        click.echo(f"  {error['image']}: {error['error']}")
    if report.history_entry:
        click.echo(f"history entry {report.history_entry}: `lorapilot tagpilot undo {name}` reverts it")


@click.command("check")
@click.argument("name")
@click.option("--only", "checks", multiple=True, help="Run only this check (repeatable).")
@click.option("--min-side", type=int, default=512, show_default=True)
@click.option("--blur-threshold", type=float, default=60.0, show_default=True)
@click.option("--near-threshold", type=int, default=6, show_default=True, help="pHash bits that may differ.")
@click.option(
    "--action", type=click.Choice(["exclude", "trash"]), help="Apply to every finding (duplicates: all but the first)."
)
@workspace_option
def check_cmd(ctx, name, checks, min_side, blur_threshold, near_threshold, action) -> None:
    """Find duplicates, near duplicates, small, blurry, corrupt and uncaptioned images."""
    from lorapilot.tools.tagpilot.checks import CHECKS, CheckOptions, run_checks

    ds = datasets.open_dataset(ctx.workspace, name)
    options = CheckOptions(tuple(checks) or CHECKS, min_side, blur_threshold, near_threshold)
    with cli_progress(f"check {name}") as progress:
        report = run_checks(ds, options, progress=progress)
    targets: list[str] = []
    for finding in report.findings:
        click.echo(f"{finding.check:<17} {', '.join(finding.images)}: {finding.detail}")
        targets += [i for i in finding.images if i != finding.keep and i not in targets]
    click.echo(f"{len(report.findings)} findings in {report.images} images ({report.measured} measured)")
    if action and targets:
        if action == "exclude":
            datasets.exclude_images(ds, targets)
        else:
            datasets.delete_images(ctx.workspace, ds, targets)
        click.echo(f"{action}: {len(targets)} images")


@click.command("exclude")
@click.argument("name")
@click.argument("images", nargs=-1, required=True)
@workspace_option
def exclude_cmd(ctx, name, images) -> None:
    """Move images out of the dataset into .tagpilot/excluded/ (see `include`)."""
    moved = datasets.exclude_images(datasets.open_dataset(ctx.workspace, name), list(images))
    click.echo(f"excluded {len(moved)} images")


@click.command("include")
@click.argument("name")
@click.argument("images", nargs=-1, required=True)
@workspace_option
def include_cmd(ctx, name, images) -> None:
    """Bring excluded images back."""
    moved = datasets.include_images(datasets.open_dataset(ctx.workspace, name), list(images))
    click.echo(f"included {len(moved)} images")


@click.command("export")
@click.argument("name")
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["kohya", "ai-toolkit", "diffusion-pipe"]),
    help="Export only this format (repeatable; default all).",
)
@click.option("--repeats", type=int, default=10, show_default=True)
@click.option("--resolution", type=int, default=1024, show_default=True)
@click.option("--trigger", help="Trigger word (kohya folder name, AI Toolkit trigger_word, handoff).")
@click.option("--concept", help="kohya folder name part (default: trigger word, else the dataset name).")
@workspace_option
def export_cmd(ctx, name, formats, repeats, resolution, trigger, concept) -> None:
    """Write trainer configs (kohya N_name folder + TOML, AI Toolkit entry, Diffusion Pipe TOML) and the handoff.

    Ctrl-C cancels: the export is built aside and renamed into place only when complete.
    """
    from lorapilot.tools.tagpilot.export import FORMATS, ExportOptions, export_dataset

    ds = datasets.open_dataset(ctx.workspace, name)
    options = ExportOptions(tuple(formats) or FORMATS, repeats, resolution, trigger, concept)
    try:
        with cli_progress(f"export {name}") as progress:
            result = export_dataset(ctx.workspace, ds, options, progress=progress)
    except KeyboardInterrupt:
        click.echo(f"export cancelled: nothing was written, the previous export of {name!r} is unchanged", err=True)
        raise SystemExit(130) from None
    for what, path in result.files.items():
        click.echo(f"{what:<28} {path}")
    click.echo(f"{'handoff':<28} {ds.handoff_file}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}")

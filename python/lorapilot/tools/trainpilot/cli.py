"""``lorapilot trainpilot ...``: profiles, presets, the queue and its worker (a thin shell over the library)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from lorapilot.stack.clickopts import FullHelpGroup, format_duration, workspace_option


@click.group("train", cls=FullHelpGroup)
def train_group() -> None:
    """TrainPilot: train LoRAs with Kohya, AI Toolkit, Diffusion Pipe or the native trainer, one queue."""


def _print_issues(issues) -> None:
    for issue in issues:
        click.echo(f"  {issue.level}: {issue.field}: {issue.message}", err=True)


# --- pickers ---------------------------------------------------------------------------------------


@train_group.command("presets")
@click.option(
    "--family",
    help="Only this family (sd15, sd2, sdxl, sd3, flux1, chroma, wan21, lumina2, hidream, hunyuanvideo, ltxvideo, qwenimage, wan22, flux2, zimage).",
)
@click.option("--json", "as_json", is_flag=True)
def presets_cmd(family: str | None, as_json: bool) -> None:
    """Presets: family × quality (quick/regular/high) × VRAM tier (8/12/16/24/48 GB)."""
    from lorapilot.tools.trainpilot.presets import list_presets

    presets = [p for p in list_presets() if family is None or p.family == family]
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in presets], indent=2))
        return
    for p in presets:
        click.echo(f"{p.id:<22} {'ok' if p.fits else 'no: ' + p.reason}")


@train_group.command("datasets")
@workspace_option
def datasets_cmd(ctx) -> None:
    """Datasets under datasets/: images, captions, TagPilot handoff."""
    from lorapilot.tools.trainpilot.datasets import list_datasets

    for d in list_datasets(ctx.workspace):
        extra = f"  trigger {d.trigger_word!r}" if d.trigger_word else ""
        click.echo(f"{d.name:<24} {d.num_images:>5} images  {d.num_captioned:>5} captioned{extra}")


@train_group.command("models")
@click.option("--family", help="Only models detected as this family (unknown ones are listed too).")
@workspace_option
def models_cmd(ctx, family: str | None) -> None:
    """Base models in models/checkpoints, diffusion_models and diffusers."""
    from lorapilot.tools.trainpilot.training_bases import list_base_models

    for m in list_base_models(ctx, family):
        click.echo(f"{m.path:<60} {m.family or '?':<6} {m.kind}")


# --- profiles --------------------------------------------------------------------------------------


@train_group.group("profile")
def profile_group() -> None:
    """Saved training profiles (config/trainpilot/profiles/*.toml)."""


@profile_group.command("new")
@click.argument("name")
@click.option("--dataset", required=True, help="A folder name under datasets/.")
@click.option("--base", required=True, help="Base model, relative to models/ (e.g. checkpoints/sd15.safetensors).")
@click.option(
    "--preset", "preset", required=True, help="FAMILY-QUALITY-NNgb, e.g. sdxl-regular-24gb (see `train presets`)."
)
@click.option(
    "--trainer",
    type=click.Choice(["kohya", "ai-toolkit", "diffusion-pipe", "native"]),
    default="kohya",
    show_default=True,
)
@click.option("--trigger", help="Trigger word (default: from TagPilot's handoff).")
@click.option(
    "--clip-l",
    help="FLUX.1/SD3: CLIP-L text encoder; HunyuanVideo: the clip-vit-large-patch14 folder (relative to models/).",
)
@click.option("--t5xxl", help="FLUX.1/SD3: T5-XXL text encoder, relative to models/.")
@click.option("--ae", help="FLUX.1: autoencoder, relative to models/.")
@click.option(
    "--vae",
    help="A separate VAE (Lumina 2 and Z-Image on Diffusion Pipe: the FLUX.1 VAE; FLUX.2: its VAE), relative to models/.",
)
@click.option(
    "--diffusers",
    help="Chroma on Diffusion Pipe: a FLUX.1 diffusers folder for T5 and the VAE; LTX-Video: its diffusers folder (relative to models/).",
)
@click.option(
    "--llm",
    help="Lumina 2: the Gemma-2 2B text encoder; HiDream: the Llama 3.1 8B Instruct folder; HunyuanVideo: the llava-llama-3-8b folder; Wan 2.1/2.2: a UMT5 file instead of the folder's; FLUX.2 / Z-Image on Diffusion Pipe: the text encoder file (relative to models/).",
)
@click.option(
    "--adapter",
    help="Z-Image-Turbo: its training adapter LoRA (zimage_turbo_training_adapter_v1.safetensors), relative to models/.",
)
@click.option("--force", is_flag=True, help="Replace a profile of that name.")
@workspace_option
def profile_new_cmd(
    ctx, name, dataset, base, preset, trainer, trigger, clip_l, t5xxl, ae, vae, diffusers, llm, adapter, force
) -> None:
    """Create a profile from a preset, scaled to the dataset; every field stays editable."""
    from lorapilot.kit.errors import ConflictError, LorapilotError
    from lorapilot.tools.trainpilot.datasets import inspect_dataset
    from lorapilot.tools.trainpilot.presets import build_profile, parse_preset_id
    from lorapilot.tools.trainpilot.profiles import ModelRef, ProfileStore
    from lorapilot.tools.trainpilot.training_bases import known_prediction
    from lorapilot.tools.trainpilot.validate import errors_of, validate_profile

    family, quality, vram = parse_preset_id(preset)
    info = inspect_dataset(ctx.workspace, dataset)
    profile = build_profile(
        name=name,
        family=family,
        quality=quality,
        vram_gb=vram,
        trainer=trainer,
        model=ModelRef(
            base=base,
            clip_l=clip_l,
            t5xxl=t5xxl,
            ae=ae,
            vae=vae,
            diffusers=diffusers,
            llm=llm,
            adapter=adapter,
            **known_prediction(ctx, base),
        ),
        dataset_name=dataset,
        dataset=info,
        trigger_word=trigger,
    )
    store = ProfileStore(ctx.workspace)
    if store.path(name).exists() and not force:
        raise ConflictError(f"profile {name!r} exists ({store.path(name)}); add --force to replace it")
    issues = validate_profile(ctx, profile)
    # A profile naming a missing base model or dataset is a typo to fix now, not a file to keep;
    # a trainer that is not installed yet is not (install it, then submit).
    blocking = [i for i in errors_of(issues) if i.field != "trainer"]
    if blocking:
        _print_issues(blocking)
        raise LorapilotError(f"profile {name!r} not saved: fix the {len(blocking)} error(s) above and rerun")
    path = store.save(profile, overwrite=force)
    click.echo(f"saved {path} ({profile.training.steps} steps for {info.num_images} images)")
    _print_issues(issues)


@profile_group.command("list")
@workspace_option
def profile_list_cmd(ctx) -> None:
    """Saved profiles."""
    from lorapilot.tools.trainpilot.profiles import ProfileStore

    for name in ProfileStore(ctx.workspace).names():
        click.echo(name)


@profile_group.command("show")
@click.argument("name")
@workspace_option
def profile_show_cmd(ctx, name) -> None:
    """Print a profile as TOML."""
    from lorapilot.tools.trainpilot.profiles import ProfileStore

    click.echo(ProfileStore(ctx.workspace).load(name).to_toml(), nl=False)


@profile_group.command("check")
@click.argument("name")
@workspace_option
def profile_check_cmd(ctx, name) -> None:
    """Validate a profile against this workspace (exit 1 on errors)."""
    from lorapilot.tools.trainpilot.profiles import ProfileStore
    from lorapilot.tools.trainpilot.validate import errors_of, validate_profile

    issues = validate_profile(ctx, ProfileStore(ctx.workspace).load(name))
    _print_issues(issues)
    if errors_of(issues):
        sys.exit(1)
    click.echo("ok")


@profile_group.command("delete")
@click.argument("name")
@workspace_option
def profile_delete_cmd(ctx, name) -> None:
    """Move a profile to the trash."""
    from lorapilot.tools.trainpilot.profiles import ProfileStore

    item = ProfileStore(ctx.workspace).delete(name)
    click.echo(f"moved to trash ({item.id})")


# --- queue -----------------------------------------------------------------------------------------


def _warn_without_worker(ctx) -> None:
    from lorapilot.tools.trainpilot.worker import worker_running

    if not worker_running(ctx):
        click.echo(
            "note: no queue worker is running; start ControlPilot (`lorapilot up`) or `lorapilot trainpilot worker`",
            err=True,
        )


def _follow(ctx, job_id: int) -> str:
    """Show a progress bar until the job ends; returns its final state.

    With no queue worker running, this process drives the queue itself (the job still runs in its
    own session, so Ctrl-C here stops following, not training); otherwise it would wait forever.
    """
    from lorapilot.kit.progress import cli_progress
    from lorapilot.tools.trainpilot import actions
    from lorapilot.tools.trainpilot.worker import QueueWorker, worker_running

    store = actions.open_store(ctx)
    driver = None
    if not worker_running(ctx):
        driver = QueueWorker(ctx, store)
        if driver.acquire():
            click.echo(
                "no queue worker is running: this command drives the queue until the job ends "
                "(`lorapilot up` or `lorapilot trainpilot worker` drive it in the background)",
                err=True,
            )
        else:
            driver = None  # a worker started meanwhile
    try:
        job = store.get(job_id)
        with cli_progress(f"job {job_id} {job.name}", total=job.profile["training"]["steps"]) as report:
            while True:
                if driver is not None:
                    driver.tick()
                job = store.get(job_id)
                loss = f"loss {job.loss:.4f}" if job.loss is not None else job.state
                report(job.step or 0, job.total, loss)
                if job.state in ("done", "failed", "cancelled"):
                    return job.state
                time.sleep(min(1.0, ctx.settings.trainpilot.poll_interval_s))
    finally:
        if driver is not None:
            driver.release()
        store.close()


def _explain_failure(ctx, job_id: int) -> None:
    """Why a job failed and the end of its log: what the user needs before opening any file."""
    from lorapilot.tools.trainpilot import actions

    d = actions.job_detail(ctx, job_id, log_lines=15)
    if d.get("error"):
        click.echo(f"  reason: {d['error']}", err=True)
    lines = d.get("log") or (d.get("log_tail") or "").splitlines()
    if lines:
        click.echo("  last log lines:", err=True)
        click.echo("\n".join("    " + line for line in lines[-15:]), err=True)
    click.echo(f"  more: lorapilot trainpilot status {job_id}; lorapilot trainpilot logs {job_id}", err=True)


@train_group.command("submit")
@click.argument("profile", required=False)
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A profile TOML file instead of a saved one.",
)
@click.option("--wait", is_flag=True, help="Follow the job with a progress bar until it ends.")
@workspace_option
def submit_cmd(ctx, profile, file_, wait) -> None:
    """Validate a profile and queue it."""
    from lorapilot.kit.errors import LorapilotError
    from lorapilot.kit.tomlconfig import load_toml_model
    from lorapilot.tools.trainpilot import actions
    from lorapilot.tools.trainpilot.profiles import Profile

    if bool(profile) == bool(file_):
        raise LorapilotError("give a saved profile name or --file, not both")
    if file_:
        job, warnings = actions.submit(ctx, load_toml_model(file_, Profile))
    else:
        job, warnings = actions.submit_saved(ctx, profile)
    _print_issues(warnings)
    click.echo(f"queued job {job.id} ({job.name}, {job.trainer}); outputs in {job.run_dir}")
    if not wait:
        _warn_without_worker(ctx)
        return
    state = _follow(ctx, job.id)
    click.echo(f"job {job.id}: {state}")
    if state != "done":
        _explain_failure(ctx, job.id)
        sys.exit(1)


@train_group.command("queue")
@click.option("--json", "as_json", is_flag=True)
@workspace_option
def queue_cmd(ctx, as_json) -> None:
    """The queue: running, queued (in order) and finished jobs."""
    from lorapilot.tools.trainpilot import actions

    jobs = actions.list_jobs(ctx)
    if as_json:
        click.echo(json.dumps([j.to_dict() for j in jobs], indent=2))
        return
    for j in jobs:
        steps = f"{j.step or 0}/{j.total or j.profile['training']['steps']}"
        loss = f"{j.loss:.4f}" if j.loss is not None else "-"
        rate = f"{j.its:.2f} it/s" if j.its else "-"
        click.echo(
            f"{j.id:>4} {j.state:<9} {j.name:<24} {j.trainer:<14} {steps:>11} loss {loss:<8} {rate:<11} ETA {format_duration(j.eta_s)}"
        )
    _warn_without_worker(ctx)


@train_group.command("status")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@workspace_option
def status_cmd(ctx, job_id, as_json) -> None:
    """One job in detail: progress, outputs, error and the log's tail."""
    from lorapilot.tools.trainpilot import actions

    d = actions.job_detail(ctx, job_id, log_lines=20)
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"job {d['id']} {d['name']}: {d['state']} ({d['trainer']}, {d['family']}, dataset {d['dataset']})")
    click.echo(
        f"  step {d['step'] or 0}/{d['total'] or d['profile']['training']['steps']}  loss {d['loss']}  {d['its'] or '-'} it/s  ETA {format_duration(d['eta_s'])}"
    )
    for key in ("latest_checkpoint", "latest_sample", "final_lora", "card", "error"):
        if d.get(key):
            click.echo(f"  {key.replace('_', ' ')}: {d[key]}")
    if d["resumable"]:
        click.echo(f"  resumable from step {d['states'][-1]['step']}: lorapilot trainpilot resume {job_id}")
    if d.get("log_tail"):
        click.echo("  last log lines:\n" + "\n".join("    " + line for line in d["log_tail"].splitlines()))


@train_group.command("cancel")
@click.argument("job_id", type=int)
@click.option(
    "--save", "mode", flag_value="save", help="Ask the trainer to save a checkpoint and its state, then stop."
)
@click.option("--kill", "mode", flag_value="kill", default=True, help="Kill its process group at once (default).")
@workspace_option
def cancel_cmd(ctx, job_id, mode) -> None:
    """Cancel a queued or running job."""
    from lorapilot.tools.trainpilot import actions

    job = actions.cancel(ctx, job_id, mode)
    click.echo(f"job {job_id}: {job.state}" + (f" (stop requested: {mode})" if job.state == "running" else ""))


@train_group.command("resume")
@click.argument("job_id", type=int)
@workspace_option
def resume_cmd(ctx, job_id) -> None:
    """Queue a failed or cancelled job again, continuing from its newest saved state."""
    from lorapilot.tools.trainpilot import actions

    job = actions.resume(ctx, job_id)
    click.echo(f"job {job.id} queued to resume")
    _warn_without_worker(ctx)


@train_group.command("retry")
@click.argument("job_id", type=int)
@workspace_option
def retry_cmd(ctx, job_id) -> None:
    """Run a finished job's profile again from scratch as a new job."""
    from lorapilot.tools.trainpilot import actions

    job = actions.retry(ctx, job_id)
    click.echo(f"queued job {job.id} (retry of {job_id})")
    _warn_without_worker(ctx)


@train_group.command("move")
@click.argument("job_id", type=int)
@click.argument("index", type=int)
@workspace_option
def move_cmd(ctx, job_id, index) -> None:
    """Reorder the queue: put a queued job at INDEX (0 runs next)."""
    from lorapilot.tools.trainpilot import actions

    queue = actions.move(ctx, job_id, index)
    click.echo("queue: " + ", ".join(f"{j.id} {j.name}" for j in queue))


@train_group.command("logs")
@click.argument("job_id", type=int)
@click.option("-n", "--lines", default=50, show_default=True)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output until the job ends.")
@workspace_option
def logs_cmd(ctx, job_id, lines, follow) -> None:
    """A job's trainer log (progress-bar redraws collapsed to their last state)."""
    from lorapilot.kit.logtail import read_records, tail_records
    from lorapilot.tools.trainpilot import actions

    store = actions.open_store(ctx)
    try:
        job = store.get(job_id)
        for line in tail_records(job.log_path, lines):
            click.echo(line)
        if not follow:
            return
        offset = job.log_path.stat().st_size if job.log_path.exists() else 0
        while True:
            records, offset = read_records(job.log_path, offset)
            for record in records:
                click.echo(record)
            if store.get(job_id).state in ("done", "failed", "cancelled") and not records:
                return
            time.sleep(0.5)
    finally:
        store.close()


@train_group.command("worker")
@click.option("--once", is_flag=True, help="One pass (follow running jobs, start what fits), then exit.")
@workspace_option
def worker_cmd(ctx, once) -> None:
    """Drive the queue headless (ControlPilot runs the same worker inside; only one drives at a time)."""
    import signal
    import threading

    from lorapilot.tools.trainpilot.worker import QueueWorker

    worker = QueueWorker(ctx)
    if once:
        worker.tick()
        click.echo("queue worker: one pass done" if worker.is_leader else "another process drives the queue")
        worker.release()
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    if not worker.acquire():
        click.echo("another process drives the queue; waiting on standby to take over", err=True)
    click.echo(
        f"queue worker for {ctx.workspace.root} (GPUs: {', '.join(worker.slots)}); jobs keep running if this stops",
        err=True,
    )
    worker.run(stop)


@train_group.command("grid")
@click.argument("job_id", type=int)
@click.option("--weights", default="0.6,0.8,1.0", show_default=True, help="LoRA strengths, comma-separated.")
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A text file, one prompt per line (default: the job's sample prompts).",
)
@click.option(
    "--checkpoints",
    default="all",
    show_default=True,
    help="all (every saved step and the final LoRA), last, or N spread evenly.",
)
@click.option(
    "--renderer",
    type=click.Choice(["auto", "comfyui", "native"]),
    default="auto",
    show_default=True,
    help="auto: ComfyUI's API when ComfyUI answers, else diffusers here.",
)
@workspace_option
def grid_cmd(ctx, job_id, weights, prompts_file, checkpoints, renderer) -> None:
    """Render a test grid for a job: checkpoints × LoRA weights × prompts, fixed seeds, into its grid/ folder."""
    from lorapilot.kit.progress import cli_progress
    from lorapilot.tools.trainpilot import actions
    from lorapilot.tools.trainpilot.grid import grid_dir, parse_weights, plan_for_job, read_prompts, render_job_grid

    prompts = read_prompts(prompts_file) if prompts_file else None
    plan = plan_for_job(ctx, job_id, weights=parse_weights(weights), prompts=prompts, checkpoints=checkpoints)
    with cli_progress(f"grid for job {job_id}", total=len(plan.cells())) as progress:
        manifest = render_job_grid(ctx, plan, renderer, progress=progress)
    folder = grid_dir(actions.get_job(ctx, job_id))
    click.echo(
        f"{len(manifest['cells'])} images ({len(manifest['rows'])} rows × {len(manifest['cols'])} prompts) "
        f"by {manifest['renderer']}: {folder / manifest['grid']}"
    )


@train_group.group("export", cls=FullHelpGroup)
def export_group() -> None:
    """Render a job for running elsewhere (a Kubernetes cluster)."""


@export_group.command("k8s")
@click.argument("job_id", type=int)
@click.option(
    "--image",
    default="ghcr.io/YOU/lorapilot:latest",
    show_default=True,
    help="Our OCI image, pushed where the cluster pulls from.",
)
@click.option(
    "--pvc", default="lorapilot-workspace", show_default=True, help="The PersistentVolumeClaim holding the workspace."
)
@click.option("--namespace", default=None, help="Namespace of the objects (default: kubectl's).")
@click.option("--run-as-user", default=1000, show_default=True, help="The image's user (0 for the -root variant).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the YAML here instead of printing it.")
@workspace_option
def export_k8s_cmd(ctx, job_id, image, pvc, namespace, run_as_user, output) -> None:
    """Print job JOB_ID as a Kubernetes Job (Indexed, with a headless Service, for several machines).

    The workspace is mounted from the claim at this workspace's path; the trainer's configuration is
    written into the job's run folder here. Apply with `kubectl apply -f` (see docs/beyond-one-gpu.md).
    """
    from lorapilot.kit.fsutil import atomic_write_text
    from lorapilot.kit.tomlconfig import validate_model
    from lorapilot.tools.trainpilot.actions import open_store
    from lorapilot.tools.trainpilot.k8s import K8sOptions, check_exportable, render_job, to_yaml

    options = validate_model(
        None, K8sOptions, {"image": image, "pvc": pvc, "namespace": namespace, "run_as_user": run_as_user}
    )
    store = open_store(ctx)
    try:
        job = store.get(job_id)
    finally:
        store.close()
    check_exportable(job)
    text = to_yaml(render_job(ctx, job, options))
    if output:
        atomic_write_text(Path(output), text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)

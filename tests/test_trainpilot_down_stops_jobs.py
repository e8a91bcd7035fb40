"""``lorapilot down`` leaves no process behind, training jobs included: a running job is stopped and saved
(resumable), not left training on the GPU with nobody to finish it. ``--keep-training`` lets it run on."""

from __future__ import annotations

import contextlib

import psutil
import pytest

from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef, Profile
from support import journey as j
from support.running import lorapilot, wait_for, workspace_processes

pytest.importorskip("diffusers", reason="the native trainer needs the [train] extra")
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]


def _long_job(ctx):
    root = ctx.workspace.root
    j.source_images(root / "datasets" / j.DATASET)
    j.install_tiny_base_model(ctx)
    profile = build_profile(
        name="long",
        family="sd15",
        quality="quick",
        vram_gb=8,
        trainer="native",
        model=ModelRef(base=j.BASE_MODEL),
        dataset_name=j.DATASET,
        dataset=inspect_dataset(ctx.workspace, j.DATASET),
    )
    data = j.tiny_profile(profile.model_dump(mode="json"))
    data["training"]["steps"] = 100_000
    data["save"]["every_n_steps"] = data["sample"]["every_n_steps"] = 100_000
    job, _ = actions.submit(ctx, Profile(**data))
    return job


def _trainers(ctx) -> list[psutil.Process]:
    return [p for p in workspace_processes(ctx.workspace.root) if "lorapilot.tools.trainpilot" in " ".join(p.cmdline())]


@contextlib.contextmanager
def _up_with_a_running_job(tmp_path):
    ctx = j.journey_workspace(tmp_path / "ws")
    job = _long_job(ctx)
    lorapilot(ctx, "up", "--backend", "supervisord", "--detach")
    try:
        wait_for(
            lambda: (x := actions.list_jobs(ctx)[0]).state == "running" and (x.step or 0) >= 3,
            timeout=120,
            what="the job training",
        )
        yield ctx, job
    finally:
        lorapilot(ctx, "down", check=False)
        for proc in workspace_processes(ctx.workspace.root):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def test_down_stops_and_saves_a_running_job(tmp_path):
    with _up_with_a_running_job(tmp_path) as (ctx, job):
        result = lorapilot(ctx, "down")
        assert workspace_processes(ctx.workspace.root) == []
        ended = actions.list_jobs(ctx)[0]
        assert ended.state == "cancelled" and "stopped on request after saving at step" in ended.error
        assert f"lorapilot trainpilot resume {job.id}" in result.stdout, result.stdout
        assert actions.resume(ctx, job.id).state == "queued"  # resumable on the next `up`


def test_down_keep_training_leaves_the_job_running(tmp_path):
    with _up_with_a_running_job(tmp_path) as (ctx, job):
        result = lorapilot(ctx, "down", "--keep-training")
        assert "still training" in result.stdout, result.stdout
        assert _trainers(ctx) and actions.list_jobs(ctx)[0].state == "running"


def test_down_kills_a_job_whose_trainer_cannot_save_on_request(tmp_path, monkeypatch):
    from support.trainpilot import make_train_workspace

    monkeypatch.setenv("FAKE_STEP_S", "0.05")  # the stand-in trainer (inherited through supervisord)
    ctx = make_train_workspace(tmp_path)
    profile = build_profile(
        name="kohya-long",
        family="sd15",
        quality="quick",
        vram_gb=12,
        trainer="kohya",
        model=ModelRef(base="checkpoints/sd15-base.safetensors"),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
    )
    profile.training.steps = 100_000
    job, _ = actions.submit(ctx, profile)
    lorapilot(ctx, "up", "--backend", "supervisord", "--detach")
    try:
        wait_for(lambda: (actions.list_jobs(ctx)[0].step or 0) >= 3, timeout=60, what="the job training")
        result = lorapilot(ctx, "down")
        assert workspace_processes(ctx.workspace.root) == []
        ended = actions.list_jobs(ctx)[0]
        assert (ended.state, ended.error) == ("cancelled", "killed on request")
        assert f"training job {job.id} (kohya-long): killed" in result.stdout, result.stdout
    finally:
        lorapilot(ctx, "down", check=False)
        for proc in workspace_processes(ctx.workspace.root):
            with contextlib.suppress(psutil.Error):
                proc.kill()

"""What a new user hits first with ``lorapilot trainpilot``: a trainer environment without torch,
``--wait`` with no worker, a failed job, a mistyped base model (real subprocesses, real queue)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.trainpilot import make_train_workspace

pytestmark = pytest.mark.slow


def _cli(ctx, *args, env=None, timeout=120):
    full_env = {
        **os.environ,
        "LORAPILOT_MANIFEST": str(ctx.workspace.root / "manifest.json"),
        "LORAPILOT_WORKSPACE": str(ctx.workspace.root),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", *args], env=full_env, capture_output=True, text=True, timeout=timeout
    )


def _new_profile(ctx, *extra, name="mycat", trainer="native"):
    return _cli(
        ctx,
        "trainpilot",
        "profile",
        "new",
        name,
        "--dataset",
        "cats",
        "--base",
        "checkpoints/sd15-base.safetensors",
        "--preset",
        "sd15-quick-12gb",
        "--trainer",
        trainer,
        *extra,
    )


def _bare_python_env(tmp_path: Path) -> Path:
    """A real venv of the system Python: an interpreter with none of torch, diffusers or peft."""
    env = tmp_path / "bare-env"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(env)], check=True)
    probe = subprocess.run([str(env / "bin" / "python"), "-c", "import torch"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("the system Python has torch; cannot build an environment without it")
    return env


def test_native_job_without_torch_is_refused_naming_the_install_command(tmp_path):
    ctx = make_train_workspace(tmp_path)
    assert _new_profile(ctx).returncode == 0
    manifest_path = ctx.workspace.root / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["components"]["lorapilot-train"] = {"env": str(_bare_python_env(tmp_path))}
    manifest_path.write_text(json.dumps(manifest))

    check = _cli(ctx, "trainpilot", "profile", "check", "mycat")
    assert check.returncode == 1
    assert (
        "lacks torch, diffusers, peft" in check.stderr
        and "`lorapilot install native-trainer` installs them" in check.stderr
    )
    submit = _cli(ctx, "trainpilot", "submit", "mycat", "--wait")
    assert submit.returncode == 1 and "Traceback" not in submit.stderr
    assert "lorapilot install native-trainer" in submit.stderr and "queued job" not in submit.stdout


def test_submit_wait_without_a_worker_drives_the_queue_itself(tmp_path):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"poll_interval_s": 0.1}})
    assert _new_profile(ctx, trainer="kohya").returncode == 0
    r = _cli(ctx, "trainpilot", "submit", "mycat", "--wait", env={"FAKE_STEP_S": "0.002"}, timeout=90)
    assert r.returncode == 0, r.stderr
    assert "this command drives the queue" in r.stderr
    assert "job 1: done" in r.stdout
    # the lock is released: a later worker can take the queue
    assert "one pass done" in _cli(ctx, "trainpilot", "worker", "--once").stdout


def test_failed_wait_prints_the_reason_and_the_logs_last_lines(tmp_path):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"poll_interval_s": 0.1}})
    assert _new_profile(ctx, trainer="kohya").returncode == 0
    r = _cli(
        ctx, "trainpilot", "submit", "mycat", "--wait", env={"FAKE_STEP_S": "0.002", "FAKE_CRASH_AT": "5"}, timeout=90
    )
    assert r.returncode == 1
    assert "job 1: failed" in r.stdout
    assert "reason: Kohya sd-scripts exited with code 1" in r.stderr
    assert "last log lines:" in r.stderr and "torch.OutOfMemoryError: CUDA out of memory (fake)" in r.stderr
    assert "lorapilot trainpilot logs 1" in r.stderr


def test_profile_new_with_a_missing_base_saves_nothing_and_exits_1(tmp_path):
    ctx = make_train_workspace(tmp_path)
    r = _cli(
        ctx,
        "trainpilot",
        "profile",
        "new",
        "mycat",
        "--dataset",
        "cats",
        "--base",
        "checkpoints/gone.safetensors",
        "--preset",
        "sd15-quick-12gb",
        "--trainer",
        "native",
    )
    assert r.returncode == 1
    assert "model.base: models/checkpoints/gone.safetensors not found" in r.stderr
    assert "not saved" in r.stderr
    assert not (ctx.workspace.config / "trainpilot" / "profiles" / "mycat.toml").exists()

    assert _new_profile(ctx).returncode == 0
    again = _new_profile(ctx)
    assert again.returncode == 1 and "add --force to replace it" in again.stderr and "overwrite" not in again.stderr
    assert _new_profile(ctx, "--force").returncode == 0

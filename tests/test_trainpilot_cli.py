"""``lorapilot trainpilot ...`` as a user runs it (real subprocesses, real worker)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support.trainpilot import make_train_workspace, write_safetensors

pytestmark = pytest.mark.slow


def _cli(ctx, *args, env=None, check=True):
    full_env = {
        **os.environ,
        "LORAPILOT_MANIFEST": str(ctx.workspace.root / "manifest.json"),
        "LORAPILOT_WORKSPACE": str(ctx.workspace.root),
        **(env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-m", "lorapilot", *args], env=full_env, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def test_profile_lifecycle_and_clear_errors(tmp_path):
    ctx = make_train_workspace(tmp_path)
    out = _cli(ctx, "trainpilot", "presets", "--family", "flux1").stdout
    assert "flux1-quick-8gb" in out and "needs at least the 12 GB tier" in out
    assert "cats" in _cli(ctx, "trainpilot", "datasets").stdout
    assert "checkpoints/sd15-base.safetensors" in _cli(ctx, "trainpilot", "models").stdout

    r = _cli(
        ctx,
        "trainpilot",
        "profile",
        "new",
        "mycat",
        "--dataset",
        "cats",
        "--base",
        "checkpoints/sd15-base.safetensors",
        "--preset",
        "sd15-quick-12gb",
        "--trainer",
        "native",
    )
    assert "saved" in r.stdout and "250 steps for 4 images" in r.stdout
    shown = _cli(ctx, "trainpilot", "profile", "show", "mycat").stdout
    assert 'trainer = "native"' in shown and "steps = 250" in shown
    assert _cli(ctx, "trainpilot", "profile", "check", "mycat").stdout.strip().endswith("ok")

    path = ctx.workspace.config / "trainpilot" / "profiles" / "mycat.toml"
    path.write_text(
        shown.replace('base = "checkpoints/sd15-base.safetensors"', 'base = "checkpoints/gone.safetensors"')
    )
    r = _cli(ctx, "trainpilot", "profile", "check", "mycat", check=False)
    assert r.returncode == 1 and "error: model.base: models/checkpoints/gone.safetensors not found" in r.stderr

    path.write_text(shown.replace("rank = 8", "rank = -1"))
    r = _cli(ctx, "trainpilot", "submit", "mycat", check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"error: {path}: network.rank: Input should be greater than or equal to 1 (got -1)"


def test_submit_wait_with_a_headless_worker(tmp_path):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"poll_interval_s": 0.1}})
    _cli(
        ctx,
        "trainpilot",
        "profile",
        "new",
        "mycat",
        "--dataset",
        "cats",
        "--base",
        "checkpoints/sd15-base.safetensors",
        "--preset",
        "sd15-quick-12gb",
        "--trainer",
        "kohya",
    )
    env = {**os.environ, "LORAPILOT_MANIFEST": str(ctx.workspace.root / "manifest.json"), "FAKE_STEP_S": "0.005"}
    worker_log = open(tmp_path / "worker.log", "w+")  # a file, not a pipe: a chatty worker never blocks
    worker = subprocess.Popen(
        [sys.executable, "-m", "lorapilot", "train", "worker", "-w", str(ctx.workspace.root)],
        env=env,  # old name `train`
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        r = _cli(ctx, "trainpilot", "submit", "mycat", "--wait", env={"FAKE_STEP_S": "0.005"})
        assert "queued job 1 (mycat, kohya)" in r.stdout and "job 1: done" in r.stdout
        queue = _cli(ctx, "trainpilot", "queue").stdout
        assert "done" in queue and "250/250" in queue
        status = _cli(ctx, "trainpilot", "status", "1").stdout
        assert "final lora:" in status and "models/loras/mycat.safetensors" in status
        logs = _cli(ctx, "trainpilot", "logs", "1", "-n", "3").stdout.splitlines()
        assert len(logs) == 3 and logs[-1].startswith("steps: 100%")
        assert "another process drives the queue" in _cli(ctx, "trainpilot", "worker", "--once").stdout
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        worker_log.seek(0)
        out = worker_log.read()
        worker_log.close()
        print(out)  # shown by pytest when the test fails
    assert worker.returncode == 0, out
    assert "queue worker for" in out


# `profile new` for Lumina 2 on Diffusion Pipe, with its two further parts (llm, vae).
LUMINA_PROFILE_NEW = (
    "trainpilot", "profile", "new", "lumi", "--dataset", "cats",
    "--base", "diffusion_models/lumina_2.safetensors", "--preset", "lumina2-regular-24gb",
    "--trainer", "diffusion-pipe",
    "--llm", "text_encoders/gemma_2_2b.safetensors", "--vae", "vae/flux_vae.safetensors",
)  # fmt: skip


def test_profile_new_takes_the_further_families_parts(tmp_path):
    ctx = make_train_workspace(tmp_path)
    r = _cli(ctx, *LUMINA_PROFILE_NEW, check=False)
    assert r.returncode == 1 and "not saved" in r.stderr
    # none of the three files exists in this workspace: each is named by its field
    parts = (
        ("model.base", "diffusion_models/lumina_2.safetensors"),
        ("model.llm", "text_encoders/gemma_2_2b.safetensors"),
        ("model.vae", "vae/flux_vae.safetensors"),
    )
    for field, rel in parts:
        assert f"error: {field}: models/{rel} not found" in r.stderr + r.stdout
        write_safetensors(ctx.workspace.models / rel, ["x"])
    r = _cli(ctx, *LUMINA_PROFILE_NEW)
    assert "saved" in r.stdout
    shown = _cli(ctx, "trainpilot", "profile", "show", "lumi").stdout
    assert 'family = "lumina2"' in shown and 'llm = "text_encoders/gemma_2_2b.safetensors"' in shown
    out = _cli(ctx, "trainpilot", "presets", "--family", "wan21").stdout
    assert "wan21-quick-8gb" in out and "needs at least the 12 GB tier" in out

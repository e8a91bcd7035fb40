"""InvokeAI sees the store in place: scan_folder + install inplace, idempotent, as a post-start task."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from lorapilot.stack.render import render_process_compose, render_supervisord
from lorapilot.tools.models.invokeai import sync_for_context
from support import model_files as mf
from support.fake_invokeai import FakeInvokeAI
from support.workspaces import make_workspace

FAKE = Path(__file__).parent / "support" / "fake_invokeai.py"


@pytest.fixture
def fake():
    server = FakeInvokeAI().start()
    yield server
    server.stop()


def _fill_store(models: Path, extra: Path) -> dict[str, Path]:
    files = {
        "lora": mf.write_model(models / "loras" / "pixel.safetensors", mf.kohya_lora_sd1()),
        "ckpt": mf.write_model(models / "checkpoints" / "base.safetensors", mf.sdxl_checkpoint()),
        "extra": mf.write_model(extra / "vae" / "ae.safetensors", mf.vae(16)),
        "gguf": models / "unet" / "flux-q4.gguf",
    }
    files["gguf"].parent.mkdir(parents=True, exist_ok=True)
    files["gguf"].write_bytes(b"GGUF....")
    diffusers = models / "diffusers" / "tiny-sd"
    (diffusers / "unet").mkdir(parents=True)
    (diffusers / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    files["diffusers"] = diffusers
    return files


def test_registers_every_root_in_place_and_is_idempotent(tmp_path, fake):
    extra = tmp_path / "volume"
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"extra_roots": [str(extra)]}})
    files = _fill_store(ctx.workspace.models, extra)

    report = sync_for_context(ctx, url=fake.url)
    expected = sorted(str(files[k]) for k in ("lora", "ckpt", "extra", "diffusers"))
    assert sorted(report.installed) == expected
    assert [p for p, _ in report.failed] == [str(files["gguf"])]
    assert all(c["inplace"] == "true" and c["config"] == {} for c in fake.install_calls)
    calls = len(fake.install_calls)

    again = sync_for_context(ctx, url=fake.url)
    assert again.installed == [] and sorted(again.already) == expected
    assert again.skipped == [str(files["gguf"])]  # rejected before, unchanged: not retried
    assert len(fake.install_calls) == calls

    os.utime(files["gguf"], ns=(1, 1))  # the file changed: worth another try
    third = sync_for_context(ctx, url=fake.url)
    assert [p for p, _ in third.failed] == [str(files["gguf"])] and len(fake.install_calls) == calls + 1


def test_cli_reports_counts_and_unreachable_invokeai(tmp_path, fake):
    ctx = make_workspace(tmp_path / "ws")
    _fill_store(ctx.workspace.models, tmp_path / "unused")
    cmd = [sys.executable, "-m", "lorapilot", "models", "sync-invokeai", "-w", str(ctx.workspace.root)]
    done = subprocess.run(cmd + ["--url", fake.url], capture_output=True, text=True, check=True)
    assert "InvokeAI: 3 registered, 0 already there, 1 rejected" in done.stdout
    assert "registering with InvokeAI: done" in done.stderr and "4/4" in done.stderr  # the progress bar
    fake.stop()
    proc = subprocess.run(cmd + ["--url", fake.url], capture_output=True, text=True)
    assert proc.returncode == 1 and "cannot reach InvokeAI" in proc.stderr and "Traceback" not in proc.stderr


def test_post_start_task_is_rendered_for_both_managers(tmp_path, reference_dir):
    ctx = make_workspace(tmp_path / "ws", enabled={"invokeai"})
    plans = ctx.plan(False)
    task = next(p for p in plans if p.name == "invokeai-sync-models")
    assert task.oneshot and task.depends_on == ["invokeai"] and task.argv[3:5] == ["models", "sync-invokeai"]

    config = render_process_compose(ctx.workspace, plans, ctx.manifest.lorapilot_python)
    schema = json.loads((reference_dir / "process-compose-schema.json").read_text())
    jsonschema.validate(yaml.safe_load(yaml.safe_dump(config)), schema)
    proc = config["processes"]["invokeai-sync-models"]
    assert proc["depends_on"] == {"invokeai": {"condition": "process_healthy"}}
    assert proc["availability"]["restart"] == "no" and "readiness_probe" not in proc

    conf = render_supervisord(ctx.workspace, plans, ctx.manifest.lorapilot_python, 7870)
    section = conf.split("[program:invokeai-sync-models]")[1].split("[program:")[0]
    invoke_port = ctx.registry.get("invokeai").port
    assert f"--wait-http http://127.0.0.1:{invoke_port}/api/v1/app/version" in section
    assert "autorestart=false" in section and "startsecs=0" in section


@pytest.mark.e2e
def test_supervisord_runs_the_registration_after_invokeai_is_up(tmp_path):
    """Real supervisord, a fake invokeai-web: the post-start process registers the store."""
    env_dir = tmp_path / "invokeai-env"
    (env_dir / "bin").mkdir(parents=True)
    launcher = env_dir / "bin" / "invokeai-web"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    launcher.chmod(0o755)
    record = tmp_path / "installed.json"
    ctx = make_workspace(
        tmp_path / "ws",
        enabled={"invokeai"},
        manifest={"invokeai": {"env": str(env_dir)}},
        settings={"components": {"invokeai": {"env": {"FAKE_INVOKEAI_RECORD": str(record)}}}},
    )
    files = _fill_store(ctx.workspace.models, tmp_path / "unused")
    ws = ["-w", str(ctx.workspace.root)]
    env = {**os.environ, "LORAPILOT_MANIFEST": str(ctx.manifest.path)}
    lorapilot = [sys.executable, "-m", "lorapilot"]
    up = subprocess.run(
        lorapilot + ["up", "--backend", "supervisord", "--detach", *ws],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    try:
        assert up.returncode == 0, up.stderr
        deadline = time.monotonic() + 90
        installed = []
        while time.monotonic() < deadline:
            if record.exists():
                installed = json.loads(record.read_text())
                if len(installed) == 3:
                    break
            time.sleep(0.5)
        assert sorted(installed) == sorted(str(files[k]) for k in ("lora", "ckpt", "diffusers"))
        log = ctx.workspace.log_file("invokeai-sync-models")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "registered" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.5)
        assert "InvokeAI: 3 registered" in log.read_text()
    finally:
        subprocess.run(lorapilot + ["down", *ws], capture_output=True, text=True, env=env, timeout=120)


def test_a_model_installed_meanwhile_counts_as_already_there(tmp_path, fake):
    """Another client (the API's sync, a finished training) installs a file between our scan and our install:
    InvokeAI fails that job with DuplicateModelException, which is no rejection."""
    ctx = make_workspace(tmp_path / "ws")
    lora = mf.write_model(ctx.workspace.models / "loras" / "pixel.safetensors", mf.kohya_lora_sd1())

    def install_behind_our_back(answer):
        fake.installed[str(lora)] = {"path": str(lora)}

    fake.after_scan = install_behind_our_back
    report = sync_for_context(ctx, url=fake.url)
    assert fake.jobs[1]["error_reason"] == "DuplicateModelException"
    assert report.installed == [] and report.failed == [] and report.already == [str(lora)]

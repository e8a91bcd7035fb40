"""`lorapilot models ...` end to end in a subprocess: list (table and --json, hashes cached), pull --manifest with a
progress bar, and move / rename / delete / restore."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from support import model_files as mf
from support.model_server import ModelServer
from support.workspaces import make_workspace


@pytest.fixture
def ctx(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    models = ctx.workspace.models
    mf.write_model(models / "loras" / "pixel.safetensors", mf.kohya_lora_sd1(), mf.LORA_METADATA)
    mf.write_model(models / "checkpoints" / "base.safetensors", mf.sdxl_checkpoint())
    (models / "checkpoints" / "old.ckpt").write_bytes(b"\x80\x02 a pickle that must never be loaded")
    return ctx


def models_cli(ctx, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "160"}
    cmd = [sys.executable, "-m", "lorapilot", "models", *args, "-w", str(ctx.workspace.root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_list_json_of_one_type_with_hashes(ctx):
    pixel = ctx.workspace.models / "loras" / "pixel.safetensors"
    rows = json.loads(models_cli(ctx, "list", "--type", "loras", "--json").stdout)
    assert [r["name"] for r in rows] == ["pixel.safetensors"]
    row = rows[0]
    assert (row["kind"], row["family"], row["rank"], row["alpha"], row["dtype"]) == ("lora", "sd1", 4, 2.0, "F16")
    assert row["size"] == pixel.stat().st_size
    assert row["sha256"] == hashlib.sha256(pixel.read_bytes()).hexdigest() and row["autov2"] == row["sha256"][:10]
    assert row["addnet"] is not None
    # Cached: a second listing computes nothing, so it draws no hashing bar.
    again = models_cli(ctx, "list", "--type", "loras", "--json")
    assert json.loads(again.stdout) == rows and "hashing" not in again.stderr


def test_list_table_flags_pickles(ctx):
    out = models_cli(ctx, "list", "--no-hash").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["TYPE", "NAME", "KIND", "FAMILY", "SIZE", "DTYPE", "AUTOV2"]
    assert any(
        line.startswith("loras") and "pixel.safetensors" in line and "lora r4" in line and "SD1.x" in line
        for line in lines
    )
    assert any("base.safetensors" in line and "SDXL" in line for line in lines)
    old = next(i for i, line in enumerate(lines) if "old.ckpt" in line)
    assert "pickle format: not opened" in lines[old + 1]


def test_pull_manifest_with_a_progress_bar(ctx, tmp_path):
    server = ModelServer().start()
    try:
        vae = mf.write_model(tmp_path / "v.safetensors", mf.vae(16)).read_bytes()
        url = server.add("/files/ae.safetensors", vae)
        (ctx.workspace.config / "models.toml").write_text(
            f'[models.my-ae]\nsource = "{url}"\ntype = "vae"\ndescription = "FLUX VAE"\n'
            f'sha256 = "{hashlib.sha256(vae).hexdigest()}"\n'
        )
        assert "my-ae" in models_cli(ctx, "manifest").stdout
        proc = models_cli(ctx, "pull", "--manifest", "my-ae")
        dest = ctx.workspace.models / "vae" / "ae.safetensors"
        assert f"placed {dest}" in proc.stdout and dest.read_bytes() == vae
        assert "downloading" in proc.stderr  # the rich bar, drawn on stderr
        again = models_cli(ctx, "pull", "--manifest", "my-ae")
        assert f"already in the store: {dest}" in again.stdout
        both = models_cli(ctx, "pull", url, "--manifest", "my-ae", check=False)
        assert both.returncode == 1 and "give either SOURCE or --manifest NAME" in both.stderr
        unknown = models_cli(ctx, "pull", "--manifest", "nope", check=False)
        assert (
            unknown.returncode == 1 and "no model named 'nope'" in unknown.stderr and "Traceback" not in unknown.stderr
        )
    finally:
        server.stop()


def test_move_rename_delete_restore(ctx):
    models = ctx.workspace.models
    (models / "loras" / "pixel.preview.png").write_bytes(b"png")
    assert (
        f"moved to {models / 'checkpoints' / 'pixel.safetensors'}"
        in models_cli(ctx, "move", "loras/pixel.safetensors", "checkpoints").stdout
    )
    assert (models / "checkpoints" / "pixel.preview.png").exists()
    models_cli(ctx, "move", "checkpoints/pixel.safetensors", "loras")
    assert (
        f"renamed to {models / 'loras' / 'pixel-v2.safetensors'}"
        in models_cli(ctx, "rename", "loras/pixel.safetensors", "pixel-v2").stdout
    )
    assert (models / "loras" / "pixel-v2.preview.png").exists()

    out = models_cli(ctx, "delete", "loras/pixel-v2.safetensors").stdout
    assert (
        not (models / "loras" / "pixel-v2.safetensors").exists()
        and not (models / "loras" / "pixel-v2.preview.png").exists()
    )
    item_id = out.split("lorapilot models restore ", 1)[1].split(")", 1)[0]
    listed = models_cli(ctx, "restore").stdout
    assert item_id in listed and "pixel-v2.safetensors" in listed
    models_cli(ctx, "restore", item_id)
    assert (models / "loras" / "pixel-v2.safetensors").exists()

    outside = models_cli(ctx, "delete", "../config/lorapilot.toml", check=False)
    assert outside.returncode == 1 and "not inside the model store" in outside.stderr
    assert (ctx.workspace.config / "lorapilot.toml").exists()


def test_a_pulled_model_is_registered_with_a_running_invokeai(tmp_path):
    from support.fake_invokeai import FakeInvokeAI

    ctx = make_workspace(tmp_path / "ws")
    invoke = FakeInvokeAI(port=ctx.registry.get("invokeai").port).start()
    server = ModelServer().start()
    try:
        data = mf.write_model(tmp_path / "l.safetensors", mf.kohya_lora_sdxl()).read_bytes()
        proc = models_cli(ctx, "pull", server.add("/files/style.safetensors", data))
        dest = ctx.workspace.models / "loras" / "style.safetensors"
        assert f"registered with InvokeAI: {dest}" in proc.stdout
        assert list(invoke.installed) == [str(dest)]
    finally:
        server.stop()
        invoke.stop()


def test_partial_downloads_are_listed_and_can_be_cleared(ctx):
    incoming = ctx.workspace.models / ".incoming"
    assert models_cli(ctx, "partials").stdout.strip() == "no partial downloads"
    incoming.mkdir()
    (incoming / "big.safetensors.part").write_bytes(b"\0" * 3000)
    (incoming / "big.safetensors.part.json").write_text('{"total": 9000}')
    listed = models_cli(ctx, "partials").stdout
    assert str(incoming / "big.safetensors.part") in listed and "part.json" not in listed
    assert "freed" in models_cli(ctx, "partials", "--clear").stdout
    assert not incoming.exists()


def test_an_unreachable_extra_root_is_reported_not_silently_empty(tmp_path):
    from support.api import make_client

    volume = tmp_path / "unmounted-volume"
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"extra_roots": [str(volume)]}})
    proc = models_cli(ctx, "list", "--json")
    assert json.loads(proc.stdout) == []
    assert f"warning: extra root {volume} is not reachable" in proc.stderr
    with make_client(ctx) as client:
        assert client.get("/api/models").json()["unreachable_roots"] == [str(volume)]
    volume.mkdir()
    assert "not reachable" not in models_cli(ctx, "list").stderr

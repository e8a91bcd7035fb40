"""Update checks: CivitAI by file hash, Hugging Face by repo revision; the CLI and the API say the same."""

import json
import os
import subprocess
import sys
import time

import pytest

from lorapilot.tools.models.pull import pull
from lorapilot.tools.models.store import ModelStore
from lorapilot.tools.models.updates import check_updates
from support import hub_data
from support import model_files as mf
from support.model_server import ModelServer
from support.workspaces import make_workspace


@pytest.fixture
def server(monkeypatch):
    srv = ModelServer().start()
    for name in ("HF_ENDPOINT", "CIVITAI_ENDPOINT", "HF_TOKEN", "CIVITAI_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield srv
    srv.stop()


@pytest.fixture
def ctx(tmp_path, server):
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"civitai_url": server.url, "hf_url": server.url}})
    store = ModelStore.for_context(ctx)
    v1 = mf.write_model(tmp_path / "v1.safetensors", mf.kohya_lora_sd1(rank=4), mf.LORA_METADATA).read_bytes()
    v2 = mf.write_model(tmp_path / "v2.safetensors", mf.kohya_lora_sd1(rank=8), mf.LORA_METADATA).read_bytes()
    old = hub_data.civitai_version(server, 11, 110, v1, name="v1.0")
    new = hub_data.civitai_version(server, 11, 111, v2, name="v2.0")
    hub_data.civitai_model(server, 11, [new, old])
    pull(store, "civitai:11@110")  # the old version, with its sidecars
    # A copy of the new version dropped in by hand (no sidecars): found by its hash.
    (ctx.workspace.models / "loras" / "copied.safetensors").write_bytes(v2)
    mf.write_model(ctx.workspace.models / "loras" / "mine.safetensors", mf.kohya_lora_sd1(rank=2))
    flux = mf.write_model(tmp_path / "f.safetensors", mf.kohya_lora_flux(rank=4)).read_bytes()
    server.hf_repos["acme/flux-lora"] = {"style.safetensors": flux}
    server.hf_commits["acme/flux-lora"] = "1" * 40
    pull(store, "hf:acme/flux-lora/style.safetensors")
    server.hf_commits["acme/flux-lora"] = "2" * 40  # the repo moved on
    return ctx


def test_outdated_by_hash_and_by_revision(ctx):
    checks = {c.rel: c for c in check_updates(ModelStore.for_context(ctx), {})}
    old = checks["loras/pixel_110.safetensors"]
    assert (old.status, old.site, old.current, old.latest, old.pull) == (
        "outdated",
        "civitai",
        "v1.0 (110)",
        "v2.0 (111)",
        "civitai:11@111",
    )
    assert checks["loras/copied.safetensors"].status == "current"
    assert checks["loras/mine.safetensors"].status == "unknown"
    hf = checks["loras/style.safetensors"]
    assert (hf.status, hf.current, hf.latest, hf.pull) == (
        "outdated",
        "1" * 40,
        "2" * 40,
        "hf:acme/flux-lora@main/style.safetensors",
    )


def test_cli_outdated_lists_the_newer_versions(ctx):
    cmd = [sys.executable, "-m", "lorapilot", "models", "outdated", "-w", str(ctx.workspace.root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (
        "outdated  loras/pixel_110.safetensors  v1.0 (110) -> v2.0 (111)  (lorapilot models pull civitai:11@111)"
        in proc.stdout
    )
    assert "2 of 4 models have a newer version" in proc.stdout
    assert "mine.safetensors" not in proc.stdout


def test_api_update_check_is_a_task_and_its_result_stays_for_the_badges(ctx):
    from support.api import make_client

    with make_client(ctx) as client:
        assert client.get("/api/models/updates").json() == {"checked_at": None, "models": []}
        task = client.post("/api/models/updates").json()
        deadline = time.monotonic() + 30
        while client.get(f"/api/models/tasks/{task['id']}").json()["state"] != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
        report = client.get("/api/models/updates").json()
    statuses = {m["rel"]: m["status"] for m in report["models"]}
    assert statuses == {
        "loras/pixel_110.safetensors": "outdated",
        "loras/copied.safetensors": "current",
        "loras/mine.safetensors": "unknown",
        "loras/style.safetensors": "outdated",
    }
    assert json.loads((ctx.workspace.cache / "model-updates.json").read_text())["checked_at"] > 0

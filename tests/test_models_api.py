"""/api/models: list, inspect, manage, and pulls as tasks with progress and cancel."""

import time

import pytest

from support import model_files as mf
from support.api import make_client
from support.model_server import ModelServer
from support.workspaces import make_workspace


@pytest.fixture
def ctx(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    mf.write_model(ctx.workspace.models / "loras" / "pixel.safetensors", mf.kohya_lora_sd1(), mf.LORA_METADATA)
    mf.write_model(ctx.workspace.models / "checkpoints" / "base.safetensors", mf.sdxl_checkpoint())
    return ctx


@pytest.fixture
def client(ctx):
    with make_client(ctx) as c:
        yield c


def _wait(client, task_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"/api/models/tasks/{task_id}").json()
        if task["state"] in ("done", "failed", "cancelled"):
            return task
        time.sleep(0.05)
    raise AssertionError("task did not finish")


def test_list_filters_and_inspect(client):
    data = client.get("/api/models").json()
    assert {m["name"] for m in data["models"]} == {"pixel.safetensors", "base.safetensors"}
    assert data["unhashed"] == 2
    sdxl = client.get("/api/models", params={"family": "sdxl"}).json()["models"]
    assert [m["name"] for m in sdxl] == ["base.safetensors"]
    assert [m["name"] for m in client.get("/api/models", params={"type": "loras"}).json()["models"]] == [
        "pixel.safetensors"
    ]
    report = client.get("/api/models/inspect", params={"path": "loras/pixel.safetensors"}).json()
    assert report["summary"]["lora"]["rank"] == 4
    assert report["tag_frequency"][0] == {"dataset": "10_pixel", "tag": "pixel art", "count": 40}


def test_hash_task_fills_the_cache(client):
    task = client.post("/api/models/hash", json={}).json()
    assert _wait(client, task["id"])["state"] == "done"
    models = client.get("/api/models").json()
    assert models["unhashed"] == 0 and all(len(m["autov2"]) == 10 for m in models["models"])


def test_paths_outside_the_store_are_refused(client, ctx):
    response = client.get("/api/models/inspect", params={"path": "../config/secrets.env"})
    assert response.status_code == 400 and "outside" in response.json()["detail"]
    assert client.post("/api/models/delete", json={"path": "/etc/passwd"}).status_code == 400
    assert client.get("/api/models/inspect", params={"path": "loras/none.safetensors"}).status_code == 404


def test_move_rename_delete_restore(client, ctx):
    assert (
        client.post("/api/models/move", json={"path": "loras/pixel.safetensors", "to_type": "checkpoints"}).status_code
        == 200
    )
    renamed = client.post("/api/models/rename", json={"path": "checkpoints/pixel.safetensors", "name": "pix"}).json()
    assert renamed["path"].endswith("checkpoints/pix.safetensors")
    assert (
        client.post("/api/models/rename", json={"path": "checkpoints/pix.safetensors", "name": "base"}).status_code
        == 409
    )
    trashed = client.post("/api/models/delete", json={"path": "checkpoints/pix.safetensors"}).json()["trashed"]
    assert [i["name"] for i in client.get("/api/models/trash").json()["items"]] == ["pix.safetensors"]
    restored = client.post(f"/api/models/trash/{trashed[0]['id']}/restore").json()
    assert restored["path"].endswith("checkpoints/pix.safetensors")


def test_pull_task_reports_progress_and_can_be_cancelled(client, ctx, tmp_path):
    from support.fake_invokeai import FakeInvokeAI

    server = ModelServer().start()
    invoke = FakeInvokeAI(port=ctx.registry.get("invokeai").port).start()
    try:
        data = mf.write_model(tmp_path / "src.safetensors", mf.kohya_lora_sd1(rank=256)).read_bytes()
        url = server.add("/files/slow.safetensors", data, bytes_per_s=300_000)
        task = client.post("/api/models/pull", json={"source": url}).json()
        deadline = time.monotonic() + 20
        while client.get(f"/api/models/tasks/{task['id']}").json()["current"] < len(data) // 4:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        running = client.get(f"/api/models/tasks/{task['id']}").json()
        assert running["state"] == "running" and running["total"] == len(data)
        client.post(f"/api/models/tasks/{task['id']}/cancel")
        assert _wait(client, task["id"])["state"] == "cancelled"
        assert not (ctx.workspace.models / "loras" / "slow.safetensors").exists()
        # The next pull resumes what the cancelled one left.
        server.files["/files/slow.safetensors"].bytes_per_s = None
        again = client.post("/api/models/pull", json={"source": url}).json()
        finished = _wait(client, again["id"])
        assert finished["state"] == "done", finished["error"]
        assert finished["result"][0]["resumed_from"] > 0
        assert (ctx.workspace.models / "loras" / "slow.safetensors").read_bytes() == data
        # InvokeAI, running, is shown the new model at once (and the two already in the store).
        assert str(ctx.workspace.models / "loras" / "slow.safetensors") in invoke.installed
    finally:
        server.stop()
        invoke.stop()


def test_bad_pull_requests_fail_clearly(client):
    assert client.post("/api/models/pull", json={}).status_code == 400
    r = client.post("/api/models/pull", json={"manifest": "no-such-model"})
    assert r.status_code == 404 and "no-such-model" in r.json()["detail"]
    task = client.post("/api/models/pull", json={"source": "ftp://nope"}).json()
    failed = _wait(client, task["id"])
    assert failed["state"] == "failed" and "cannot understand source" in failed["error"]


def test_manifest_and_types(client):
    names = client.get("/api/models/manifest").json()["models"]
    assert names["flux1-schnell"]["requires"] == ["flux1-ae", "clip-l", "t5xxl-fp8"]
    types = client.get("/api/models/types").json()
    assert "loras" in types["folders"] and types["families"]["flux1"] == "FLUX.1"

"""The models API never deletes, renames or moves the store itself or its layout folders,
and the trash listing/restore answer 4xx, not 500, whatever happened before."""

from __future__ import annotations

import pytest

from support.api import make_client
from support.model_files import kohya_lora_sd1, write_model


@pytest.fixture
def client(ctx):
    write_model(ctx.workspace.models / "loras" / "mine.safetensors", kohya_lora_sd1())
    (ctx.workspace.models / "checkpoints").mkdir(parents=True, exist_ok=True)
    return make_client(ctx)


LAYOUT = [".", "", "loras", "loras/", "./loras", "checkpoints", ".trash", "../models"]


@pytest.mark.parametrize("path", LAYOUT)
def test_delete_and_rename_refuse_the_store_layout(client, ctx, path):
    for route, body in (
        ("/api/models/delete", {"path": path}),
        ("/api/models/rename", {"path": path, "name": "gone"}),
        ("/api/models/move", {"path": path, "to_type": "vae"}),
    ):
        resp = client.post(route, json=body)
        assert 400 <= resp.status_code < 500, (route, path, resp.status_code, resp.text)
    assert (ctx.workspace.models / "loras" / "mine.safetensors").is_file()
    assert (ctx.workspace.models / "checkpoints").is_dir()
    assert client.get("/api/models/trash").status_code == 200


def test_a_model_can_still_be_deleted_and_restored(client, ctx):
    trashed = client.post("/api/models/delete", json={"path": "loras/mine.safetensors"})
    assert trashed.status_code == 200, trashed.text
    items = client.get("/api/models/trash").json()["items"]
    assert [i["original"] for i in items] == ["loras/mine.safetensors"]
    assert client.post(f"/api/models/trash/{items[0]['id']}/restore").status_code == 200


def test_trash_survives_a_missing_store_and_hostile_ids(client, ctx):
    import shutil

    shutil.rmtree(ctx.workspace.models)
    assert client.get("/api/models/trash").status_code == 200
    for item_id in ("x" * 5000, "..", "a%00b", "%2e%2e"):
        resp = client.post(f"/api/models/trash/{item_id}/restore")
        assert 400 <= resp.status_code < 500, (item_id[:20], resp.status_code)

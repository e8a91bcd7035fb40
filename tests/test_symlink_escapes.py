"""The one rule for links (kit.safepath): a path that resolves outside the workspace is never read,
listed, copied or linked, by any route. The audit's 12 reads through outside links, as a regression test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lorapilot.kit.safepath import confined_entries, escapes, within
from support.api import make_client
from support.model_files import kohya_lora_sd1, write_model
from support.tagpilot import make_dataset_files, wait_task, write_image
from support.workspaces import make_workspace

SECRET = "OUTSIDE-SECRET-TEXT"


@pytest.fixture
def setup(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    write_image(outside / "secret.png", color=(0, 0, 255))
    (outside / "secret.txt").write_text(SECRET)
    write_model(outside / "secret.safetensors", kohya_lora_sd1())
    (outside / "models").mkdir()
    write_model(outside / "models" / "hidden.safetensors", kohya_lora_sd1())

    ds = ctx.workspace.datasets / "ds1"
    ds.mkdir(parents=True)
    make_dataset_files(ds, {"a.png": "inside, cat", "b.png": None})
    os.symlink(outside / "secret.png", ds / "leak.png")
    os.symlink(outside / "secret.txt", ds / "b.txt")  # a linked caption
    os.symlink(outside / "secret.txt", ds / "leak.txt")
    os.symlink(outside, ctx.workspace.datasets / "linked")  # a dataset that is itself a link

    incoming = ctx.workspace.root / "incoming"
    incoming.mkdir()
    write_image(incoming / "c.png", color=(0, 255, 0))
    os.symlink(outside / "secret.txt", incoming / "c.txt")

    loras = ctx.workspace.models / "loras"
    loras.mkdir(parents=True)
    write_model(loras / "mine.safetensors", kohya_lora_sd1())
    os.symlink(outside / "secret.safetensors", loras / "leak.safetensors")
    os.symlink(outside / "models", loras / "linkdir")
    return ctx, outside


def _clean(resp) -> str:
    assert resp.status_code < 500 or resp.status_code == 503 and "not running" in resp.text, resp.text
    assert SECRET not in resp.text
    assert "secret.png" not in resp.text and "hidden.safetensors" not in resp.text
    return resp.text


def test_the_kit_rule(tmp_path):
    root, out = tmp_path / "root", tmp_path / "out"
    root.mkdir(), out.mkdir()
    (root / "inner").write_text("x")
    os.symlink(root / "inner", root / "ok")
    os.symlink(out, root / "bad")
    assert within(root / "ok", root) and escapes(root / "bad", root)
    assert within(root / "bad", [root, out])  # an allowed extra root
    assert sorted(e.name for e in confined_entries(root, root)) == ["inner", "ok"]
    assert confined_entries(root / "bad", root) == []


def test_tagpilot_never_reads_through_an_outside_link(setup):
    ctx, _ = setup
    client = make_client(ctx)
    images = client.get("/api/tagpilot/datasets/ds1/images").json()
    _clean(client.get("/api/tagpilot/datasets/ds1/images"))
    assert "leak.png" not in str(images)
    for route in (
        "/api/tagpilot/datasets/ds1/images/leak.png/file",
        "/api/tagpilot/datasets/ds1/images/leak.png/thumb",
        "/api/tagpilot/datasets/ds1/images/leak.png",
    ):
        resp = client.get(route)
        assert 400 <= resp.status_code < 500, (route, resp.status_code)
        _clean(resp)
    _clean(client.get("/api/tagpilot/datasets/ds1/images/b.png"))
    _clean(client.get("/api/tagpilot/datasets/ds1/tags"))
    _clean(client.get("/api/tagpilot/datasets/ds1"))
    _clean(client.get("/api/tagpilot/datasets"))
    _clean(client.post("/api/tagpilot/datasets/ds1/ops/preview", json={"op": {"kind": "add", "tag": "extra"}}))
    linked = client.get("/api/tagpilot/datasets/linked/images")
    assert 400 <= linked.status_code < 500
    _clean(linked)


def test_folder_import_skips_a_linked_caption(setup):
    ctx, _ = setup
    client = make_client(ctx)
    task = client.post("/api/tagpilot/datasets/ds1/import/folder", json={"path": "incoming"}).json()
    report = wait_task(client, task)["result"]
    assert "c.png" in report["imported"]
    caption = ctx.workspace.datasets / "ds1" / "c.txt"
    assert not caption.exists() or SECRET not in caption.read_text()


def test_kohya_export_links_no_outside_file(setup):
    ctx, outside = setup
    client = make_client(ctx)
    reply = client.post("/api/tagpilot/datasets/ds1/export", json={"formats": ["kohya"], "trigger_word": "ohwx"})
    result = wait_task(client, reply.json())["result"]
    image_dir = Path(result["files"]["kohya_image_dir"])
    names = sorted(p.name for p in image_dir.iterdir())
    assert "leak.png" not in names and "b.txt" not in names and "leak.txt" not in names
    secret_inode = os.stat(outside / "secret.txt").st_ino
    for path in image_dir.iterdir():
        assert not path.is_symlink()
        assert os.stat(path).st_ino != secret_inode
        if path.suffix == ".txt":
            assert SECRET not in path.read_text()


def test_trainpilot_datasets_never_read_through_an_outside_link(setup):
    ctx, _ = setup
    client = make_client(ctx)
    listed = _clean(client.get("/api/trainpilot/datasets"))
    assert '"linked"' not in listed
    one = client.get("/api/trainpilot/datasets/ds1").json()
    _clean(client.get("/api/trainpilot/datasets/ds1"))
    assert one["num_images"] == 2  # a.png and b.png; leak.png is not an image of the dataset
    linked = client.get("/api/trainpilot/datasets/linked")
    assert 400 <= linked.status_code < 500
    _clean(linked)


def test_models_listing_skips_outside_links(setup):
    ctx, _ = setup
    client = make_client(ctx)
    text = _clean(client.get("/api/models"))
    assert "mine.safetensors" in text
    assert "leak.safetensors" not in text and "linkdir" not in text
    assert client.get("/api/models/inspect", params={"path": "loras/leak.safetensors"}).status_code == 400


def test_a_datasets_folder_linked_to_another_volume_is_still_read(tmp_path):
    """An administrator may put datasets/ on another volume: that link is theirs, not an escape."""
    ctx = make_workspace(tmp_path / "ws")
    volume = tmp_path / "volume" / "datasets"
    make_dataset_files(volume / "ds1", {"a.png": "on the volume"})
    os.symlink(volume, ctx.workspace.datasets)
    client = make_client(ctx)
    images = client.get("/api/tagpilot/datasets/ds1/images")
    assert images.status_code == 200 and "on the volume" in images.text
    assert client.get("/api/tagpilot/datasets/ds1/images/a.png/file").status_code == 200
    assert client.get("/api/trainpilot/datasets/ds1").json()["num_images"] == 1


def test_no_get_route_reads_through_an_outside_link(setup):
    """Every GET route of the live app (path parameters filled with the linked names) × the links above."""
    import itertools
    import re

    from fastapi.routing import APIRoute

    from test_controlpilot_auth_routes import flat_routes

    ctx, _ = setup
    client = make_client(ctx)
    values = {"name": ["ds1", "linked"], "image": ["leak.png", "b.png", "leak.txt"], "path": ["leak.png"]}
    skip = {"/api/events", "/api/services/{name}/logs/stream", "/api/trainpilot/events", "/{path:path}"}
    checked = 0
    for route, path, methods in flat_routes(client.app):
        if not isinstance(route, APIRoute) or "GET" not in methods or path in skip:
            continue
        params = re.findall(r"\{(\w+)(?::path)?\}", path)
        for combo in itertools.product(*(values.get(p, ["1"]) for p in params)):
            url = path
            for param, value in zip(params, combo):
                url = re.sub(r"\{" + param + r"(?::path)?\}", value, url)
            query = {"path": "loras/leak.safetensors"} if path.endswith("/inspect") else {}
            _clean(client.get(url, params=query))
            checked += 1
    assert checked > 50

"""The /api/datasets HTTP API over real workspaces: CRUD, uploads, edits with 409, bulk ops, jobs, checks, export."""

import io
import time
import zipfile

import pytest
from PIL import Image

from lorapilot.stack.workspace.secrets import read_secrets
from lorapilot.tools.tagpilot.vlm import API_KEY_SECRET
from support.api import make_client
from support.tagpilot import ChatServer, build_wd14_model, make_dataset_files, wait_task, write_image


@pytest.fixture
def client(ctx):
    return make_client(ctx)


def png(color=(255, 0, 0), size=(64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_dataset_crud_and_bad_names(client, ctx):
    assert client.post("/api/tagpilot/datasets", json={"name": "cats"}).status_code == 201
    assert client.post("/api/tagpilot/datasets", json={"name": "cats"}).status_code == 409
    response = client.post("/api/tagpilot/datasets", json={"name": "../evil"})
    assert response.status_code == 400 and "dataset name" in response.json()["detail"]
    assert client.get("/api/tagpilot/datasets").json() == [
        {"name": "cats", "images": 0, "captioned": 0, "regularization": False}
    ]
    assert client.post("/api/tagpilot/datasets/cats/rename", json={"name": "kitties"}).json() == {"name": "kitties"}
    assert client.get("/api/tagpilot/datasets/cats").status_code == 404
    item = client.delete("/api/tagpilot/datasets/kitties").json()
    assert item["source"] == "tagpilot" and item["original"] == "datasets/kitties"
    assert client.get("/api/tagpilot/datasets").json() == []


def test_uploads_images_grid_thumbnails_and_stats(client, ctx):
    client.post("/api/tagpilot/datasets", json={"name": "set"})
    assert client.post("/api/tagpilot/datasets/set/files/a.png", content=png()).json()["imported"] == ["a.png"]
    assert client.post("/api/tagpilot/datasets/set/files/a.txt", content=b"cat, solo").json()["captions"] == 1
    assert client.post("/api/tagpilot/datasets/set/files/b.png", content=png((0, 0, 255), (128, 64))).status_code == 200
    bad = client.post("/api/tagpilot/datasets/set/files/run.sh", content=b"#!/bin/sh")
    assert bad.status_code == 400 and "not an image" in bad.json()["detail"]
    listing = client.get("/api/tagpilot/datasets/set/images", params={"q": "captioned:no"}).json()
    assert (listing["total"], listing["matched"]) == (2, 1)
    assert listing["images"][0]["name"] == "b.png" and listing["images"][0]["width"] == 128
    thumb = client.get("/api/tagpilot/datasets/set/images/b.png/thumb", params={"size": 128})
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (128, 64)
    assert client.get("/api/tagpilot/datasets/set/images/a.png/file").content == png()
    assert client.get("/api/tagpilot/datasets/set/images/..%2Fx.png/file").status_code in (400, 404)
    stats = client.get("/api/tagpilot/datasets/set").json()
    assert stats["images"] == 2 and stats["captioned_pct"] == 50.0


def test_stale_caption_edit_gets_409_with_current_text(client, ctx):
    client.post("/api/tagpilot/datasets", json={"name": "set"})
    client.post("/api/tagpilot/datasets/set/files/a.png", content=png())
    first = client.put("/api/tagpilot/datasets/set/images/a.png/caption", json={"text": "one", "version": ""})
    assert first.status_code == 200
    v1 = first.json()["version"]
    second = client.put(
        "/api/tagpilot/datasets/set/images/a.png/caption", json={"tags": ["two", " three "], "version": v1}
    )
    assert second.json()["text"] == "two, three"
    stale = client.put("/api/tagpilot/datasets/set/images/a.png/caption", json={"text": "lost?", "version": v1})
    assert stale.status_code == 409
    assert stale.json()["current"] == {
        "text": "two, three",
        "version": second.json()["version"],
        "exists": True,
        "non_utf8": False,
    }
    assert (ctx.workspace.datasets / "set" / "a.txt").read_text() == "two, three"


def test_bulk_preview_apply_undo_redo_tags_and_autocomplete(client, ctx):
    client.post("/api/tagpilot/datasets", json={"name": "set"})
    make_dataset_files(
        ctx.workspace.datasets / "set", {"a.png": "cat, shirt, white shirt", "b.png": "dog", "c.png": None}
    )
    body = {"op": {"kind": "add", "tag": "ohwx", "position": 0}, "query": "-tag:dog"}
    preview = client.post("/api/tagpilot/datasets/set/ops/preview", json=body).json()
    assert preview["changed"] == 2 and [d["image"] for d in preview["diffs"]] == ["a.png", "c.png"]
    assert preview["diffs"][0]["after"] == "ohwx, cat, shirt, white shirt"
    applied = client.post("/api/tagpilot/datasets/set/ops/apply", json={**body, "expected": preview["expected"]}).json()
    assert applied["files"] == 2 and applied["state"] == "applied"
    tags = client.get("/api/tagpilot/datasets/set/tags").json()["tags"]
    assert tags[0] == {"tag": "ohwx", "count": 2}
    completions = client.get("/api/tagpilot/datasets/set/tags", params={"prefix": "sh"}).json()["tags"]
    assert completions == [
        {"tag": "shirt", "count": 1},
        {"tag": "white shirt", "count": 1},
    ]  # prefix first, then word starts
    assert (
        client.get("/api/tagpilot/datasets/set/tags", params={"prefix": "sh", "limit": 1}).json()["tags"]
        == completions[:1]
    )
    consolidate = client.post("/api/tagpilot/datasets/set/ops/apply", json={"op": {"kind": "consolidate"}}).json()
    assert consolidate["files"] == 1
    history = client.get("/api/tagpilot/datasets/set/history").json()
    assert [e["description"] for e in history["entries"]] == ["consolidate tags", "add tag 'ohwx' (first)"]
    assert client.post("/api/tagpilot/datasets/set/history/undo").json()["description"] == "consolidate tags"
    assert client.post("/api/tagpilot/datasets/set/history/undo").json()["description"] == "add tag 'ohwx' (first)"
    assert not (ctx.workspace.datasets / "set" / "c.txt").exists()
    assert client.post("/api/tagpilot/datasets/set/history/undo").status_code == 400
    client.post("/api/tagpilot/datasets/set/history/redo")
    assert (ctx.workspace.datasets / "set" / "c.txt").read_text() == "ohwx"
    picked = {"op": {"kind": "remove", "tags": ["ohwx"]}, "images": ["c.png"]}  # an explicit selection
    assert [d["image"] for d in client.post("/api/tagpilot/datasets/set/ops/preview", json=picked).json()["diffs"]] == [
        "c.png"
    ]
    assert client.post("/api/tagpilot/datasets/set/ops/apply", json=picked).json()["files"] == 1
    assert (ctx.workspace.datasets / "set" / "c.txt").read_text() == ""
    assert (ctx.workspace.datasets / "set" / "a.png").exists() and "ohwx" in (
        ctx.workspace.datasets / "set" / "a.txt"
    ).read_text()
    unknown = client.post("/api/tagpilot/datasets/set/ops/preview", json={**picked, "images": ["nope.png"]})
    assert unknown.status_code == 400 and "'nope.png'" in unknown.json()["detail"]
    bad = client.post("/api/tagpilot/datasets/set/ops/preview", json={"op": {"kind": "add", "tag": ""}})
    assert bad.status_code == 400 and "'tag'" in bad.json()["detail"]
    bad_query = client.post(
        "/api/tagpilot/datasets/set/ops/preview", json={"op": {"kind": "dedupe"}, "query": "width>>3"}
    )
    assert bad_query.status_code == 400 and "query" in bad_query.json()["detail"]


def test_zip_import_task_and_hostile_zip_refused_at_once(client, ctx):
    client.post("/api/tagpilot/datasets", json={"name": "set"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("pics/z.png", png())
        zf.writestr("pics/z.txt", "zipped")
    task = client.post("/api/tagpilot/datasets/set/import/zip", content=buffer.getvalue())
    assert task.status_code == 202
    result = wait_task(client, task.json())
    assert result["state"] == "done" and result["result"]["imported"] == ["z.png"]
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.png", png())
    refused = client.post("/api/tagpilot/datasets/set/import/zip", content=evil.getvalue())
    assert refused.status_code == 400 and "escapes" in refused.json()["detail"]
    assert not list((ctx.workspace.cache / "uploads").iterdir())


def test_import_folder_must_be_inside_the_workspace(client, ctx, tmp_path):
    client.post("/api/tagpilot/datasets", json={"name": "set"})
    assert client.post("/api/tagpilot/datasets/set/import/folder", json={"path": str(tmp_path)}).status_code == 400
    holds_it = client.post(
        "/api/tagpilot/datasets/set/import/folder", json={"path": "datasets"}
    )  # refused before any task
    assert holds_it.status_code == 400 and "holds the dataset itself" in holds_it.json()["detail"]
    make_dataset_files(ctx.workspace.root / "incoming", {"i.png": "in"})
    task = client.post("/api/tagpilot/datasets/set/import/folder", json={"path": "incoming"}).json()
    assert wait_task(client, task)["result"]["imported"] == ["i.png"]


def test_wd14_caption_job_with_progress_then_undo(client, ctx):
    build_wd14_model(ctx.workspace.models / "wd14")
    client.post("/api/tagpilot/datasets", json={"name": "set"})
    write_image(ctx.workspace.datasets / "set" / "r.png", (64, 64), (255, 0, 0))
    body = {"captioner": "wd14", "mode": "overwrite", "wd14": {"model_dir": "models/wd14", "exclude": ["excluded tag"]}}
    task = client.post("/api/tagpilot/datasets/set/caption", json=body)
    assert task.status_code == 202
    result = wait_task(client, task.json())
    assert result["state"] == "done" and result["result"]["written"] == 1
    assert (result["current"], result["total"]) == (1, 1)
    assert (ctx.workspace.datasets / "set" / "r.txt").read_text() == "red theme, ^_^, long hair"
    outside = client.post("/api/tagpilot/datasets/set/caption", json={**body, "wd14": {"model_dir": "/etc"}})
    assert outside.status_code == 400
    client.post("/api/tagpilot/datasets/set/history/undo")
    assert not (ctx.workspace.datasets / "set" / "r.txt").exists()


def test_vlm_job_uses_the_secret_key_which_the_api_never_returns(client, ctx):
    server = ChatServer(api_key="sk-secret-value").start()
    try:
        assert client.get("/api/tagpilot/config").json()["vlm_api_key_set"] is False
        assert client.put("/api/tagpilot/vlm-key", json={"value": "sk-secret-value"}).json() == {
            "vlm_api_key_set": True
        }
        assert read_secrets(ctx.workspace.secrets_file)[API_KEY_SECRET] == "sk-secret-value"
        assert (ctx.workspace.secrets_file.stat().st_mode & 0o777) == 0o600
        config = client.get("/api/tagpilot/config")
        assert "sk-secret-value" not in config.text and config.json()["vlm_api_key_set"] is True
        client.post("/api/tagpilot/datasets", json={"name": "set"})
        write_image(ctx.workspace.datasets / "set" / "v.png", (64, 64), (0, 0, 255))
        task = client.post(
            "/api/tagpilot/datasets/set/caption",
            json={"captioner": "vlm", "vlm": {"base_url": server.base_url, "model": "m", "prompt": "Describe {name}."}},
        )
        result = wait_task(client, task.json())
        assert result["state"] == "done", result
        assert (ctx.workspace.datasets / "set" / "v.txt").read_text().startswith("A blue picture 64x64")
        assert "sk-secret-value" not in str(result)
    finally:
        server.stop()


def test_checks_task_actions_export_and_handoff(client, ctx):
    client.post("/api/tagpilot/datasets", json={"name": "set"})
    folder = ctx.workspace.datasets / "set"
    make_dataset_files(folder, {"a.png": "ohwx, cat", "b.png": "ohwx, dog"}, size=(600, 600))
    (folder / "a2.png").write_bytes((folder / "a.png").read_bytes())
    task = client.post("/api/tagpilot/datasets/set/checks", json={"checks": ["exact_duplicates", "uncaptioned"]}).json()
    report = wait_task(client, task)["result"]
    assert report["counts"]["exact_duplicates"] == 1 and report["counts"]["uncaptioned"] == 1
    duplicate = next(f for f in report["findings"] if f["check"] == "exact_duplicates")
    assert duplicate["images"] == ["a.png", "a2.png"] and duplicate["keep"] == "a.png"
    assert (
        client.post(
            "/api/tagpilot/datasets/set/checks/action", json={"action": "trash", "images": ["a2.png"]}
        ).status_code
        == 200
    )
    assert client.get("/api/tagpilot/datasets/set").json()["images"] == 2
    assert client.get("/api/tagpilot/datasets/set/handoff").status_code == 404
    reply = client.post("/api/tagpilot/datasets/set/export", json={"repeats": 3, "trigger_word": "ohwx"})
    assert reply.status_code == 202 and reply.json()["kind"] == "tagpilot.export"
    export = wait_task(client, reply.json())["result"]
    assert export["files"]["kohya_image_dir"].endswith("kohya/img/3_ohwx") and export["warnings"] == []
    handoff = client.get("/api/tagpilot/datasets/set/handoff").json()
    assert handoff == {
        "dataset": "set",
        "image_dir": str(folder),
        "caption_extension": ".txt",
        "num_images": 2,
        "captioned": 2,
        "trigger_word": "ohwx",
        "repeats": 3,
        "resolution": 1024,
    }
    quick = client.post("/api/tagpilot/datasets/set/handoff", json={"repeats": 5}).json()
    assert quick["repeats"] == 5 and quick["trigger_word"] == "ohwx"  # omitted fields keep the export's values


def test_a_captioner_job_can_be_cancelled_and_keeps_what_it_wrote(client, ctx):
    server = ChatServer(delay_s=0.4).start()
    try:
        client.post("/api/tagpilot/datasets", json={"name": "set"})
        for i in range(8):
            write_image(ctx.workspace.datasets / "set" / f"{i}.png")
        task = client.post(
            "/api/tagpilot/datasets/set/caption",
            json={"captioner": "vlm", "vlm": {"base_url": server.base_url, "model": "m"}},
        ).json()
        deadline = time.time() + 30
        while client.get(f"/api/tasks/{task['id']}").json()["current"] < 2 and time.time() < deadline:
            time.sleep(0.05)
        cancelled = client.post(f"/api/tasks/{task['id']}/cancel")
        assert cancelled.status_code == 200
        result = wait_task(client, task)
        assert result["state"] == "cancelled"
        written = sorted(p.name for p in (ctx.workspace.datasets / "set").glob("*.txt"))
        assert 2 <= len(written) < 8
        entry = client.get("/api/tagpilot/datasets/set/history").json()["entries"][0]
        assert entry["source"] == "captioner" and entry["files"] == len(written)
        client.post("/api/tagpilot/datasets/set/history/undo")
        assert not list((ctx.workspace.datasets / "set").glob("*.txt"))
    finally:
        server.stop()

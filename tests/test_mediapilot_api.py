"""/api/media over real HTTP plumbing: search, details, files with ranges, thumbnails, organise, scan, send to ComfyUI."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from lorapilot.kit import videofiles
from lorapilot.tools.mediapilot import thumbs
from support import media_files as mf
from support.api import make_client
from support.media_lib import make_library
from support.workspaces import free_port

GRAPH = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
    "2": {
        "class_type": "LoraLoader",
        "inputs": {
            "lora_name": "ink_style.safetensors",
            "strength_model": 0.6,
            "strength_clip": 1.0,
            "model": ["1", 0],
            "clip": ["1", 1],
        },
    },
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "an ink whale", "clip": ["2", 1]}},
    "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "color", "clip": ["2", 1]}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "6": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 99,
            "steps": 20,
            "cfg": 6.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["2", 0],
            "positive": ["3", 0],
            "negative": ["4", 0],
            "latent_image": ["5", 0],
        },
    },
    "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
    "8": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["7", 0]}},
}
WORKFLOW = {"last_node_id": 8, "nodes": [{"id": 6, "type": "KSampler"}], "links": [], "version": 0.4}


@pytest.fixture
def env(tmp_path):
    ctx, lib = make_library(tmp_path, media={"watch": False})
    lib.close()
    out = ctx.workspace.outputs
    mf.png(
        out / "comfy" / "ComfyUI_00001_.png",
        size=(320, 200),
        texts={"prompt": json.dumps(GRAPH), "workflow": json.dumps(WORKFLOW)},
    )
    mf.png(out / "comfy" / "plain.png")
    client = make_client(ctx)
    task = client.post("/api/mediapilot/scan").json()
    wait_task(client, task["id"])
    yield ctx, client
    client.app.state.media_library.close()


def wait_task(client, task_id):
    """Wait on the app's task manager (the UI follows the same task over /api/tasks and SSE)."""
    tasks = client.app.state.tasks
    for _ in range(400):
        task = tasks.get(task_id)
        if task.state in ("done", "failed", "cancelled"):
            assert task.state == "done", task.error
            return task
        time.sleep(0.05)
    raise AssertionError("scan task did not finish")


def item_id(client, query):
    items = client.get("/api/mediapilot/search", params={"q": query}).json()["items"]
    assert len(items) == 1, items
    return items[0]["id"]


def test_search_detail_and_raw(env):
    ctx, client = env
    body = client.get("/api/mediapilot/search", params={"q": "lora:ink", "total": True}).json()
    assert body["total"] == 1 and body["next_cursor"] is None
    item = body["items"][0]
    assert (item["name"], item["root"], item["seed"], item["source"]) == (
        "ComfyUI_00001_.png",
        "outputs",
        "99",
        "comfyui",
    )
    detail = client.get(f"/api/mediapilot/{item['id']}").json()
    assert detail["loras"][0]["name"] == "ink_style.safetensors" and detail["positive"] == "an ink whale"
    assert detail["raw_keys"] == ["prompt", "workflow"]
    raw = client.get(f"/api/mediapilot/{item['id']}/raw").json()
    assert json.loads(raw["prompt"]) == GRAPH
    assert client.get(f"/api/mediapilot/{item['id']}/workflow").json() == WORKFLOW
    bad = client.get("/api/mediapilot/search", params={"q": "steps>=many"})
    assert bad.status_code == 400 and bad.json()["detail"] == "steps needs a number, got 'many'"
    assert client.get("/api/mediapilot/424242").status_code == 404
    suggest = client.get("/api/mediapilot/suggest", params={"field": "lora", "prefix": "ink"}).json()
    assert suggest == [{"value": "ink_style.safetensors", "count": 1}]
    assert client.get("/api/mediapilot/suggest", params={"field": "model"}).json() == [
        {"value": "sdxl.safetensors", "count": 1}
    ]
    stats = client.get("/api/mediapilot/stats").json()
    assert (stats["total"], stats["trashed"], stats["roots"][0]["label"]) == (2, 0, "outputs")


def test_file_with_range_requests(env):
    ctx, client = env
    media_id = item_id(client, "lora:ink")
    path = ctx.workspace.outputs / "comfy" / "ComfyUI_00001_.png"
    full = client.get(f"/api/mediapilot/{media_id}/file")
    assert full.status_code == 200 and full.content == path.read_bytes()
    assert full.headers["content-type"] == "image/png" and full.headers["accept-ranges"] == "bytes"
    part = client.get(f"/api/mediapilot/{media_id}/file", headers={"Range": "bytes=8-23"})
    assert part.status_code == 206
    assert part.content == path.read_bytes()[8:24]
    assert part.headers["content-range"] == f"bytes 8-23/{path.stat().st_size}"


def test_thumbnails_are_lazy_keyed_by_content_and_cached(env):
    ctx, client = env
    thumbs_dir = ctx.workspace.cache / "thumbs"
    assert not list(thumbs_dir.rglob("*.webp"))  # nothing made at index time
    media_id = item_id(client, "lora:ink")
    response = client.get(f"/api/mediapilot/{media_id}/thumb", params={"size": 200})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "WEBP" and image.size == (256, 160)  # 320x200 fitted into the 256 box
    made = list(thumbs_dir.rglob("*.webp"))
    assert len(made) == 1 and made[0].name.endswith("-256.webp")
    # A copy has the same content, so the same thumbnail.
    client.post("/api/mediapilot/copy", json={"ids": [media_id], "dest": "copies"})
    copy_id = item_id(client, "path:copies/")
    assert client.get(f"/api/mediapilot/{copy_id}/thumb").content == response.content
    assert len(list(thumbs_dir.rglob("*.webp"))) == 1
    # An overwrite in place gets a new key.
    path = ctx.workspace.outputs / "copies" / "ComfyUI_00001_.png"
    mf.png(path, size=(100, 300))
    client.app.state.media_library.reindex([str(path)])
    new = Image.open(io.BytesIO(client.get(f"/api/mediapilot/{copy_id}/thumb").content))
    assert new.size == (85, 256)
    assert len(list(thumbs_dir.rglob("*.webp"))) == 2


def test_broken_image_gets_a_placeholder(env):
    ctx, client = env
    path = ctx.workspace.outputs / "comfy" / "plain.png"
    path.write_bytes(path.read_bytes()[:60])
    client.app.state.media_library.reindex([str(path)])
    media_id = item_id(client, "path:plain")
    response = client.get(f"/api/mediapilot/{media_id}/thumb")
    assert response.status_code == 200 and response.content == thumbs.placeholder("image", 256)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_video_thumbnail_from_ffmpeg_and_placeholder_without(env, monkeypatch):
    ctx, client = env
    video = mf.video(ctx.workspace.outputs / "clip.mp4", seconds=2, size=(160, 90))
    mf.video(ctx.workspace.outputs / "clip2.webm", seconds=1, size=(160, 90))
    client.app.state.media_library.reindex([str(video), str(ctx.workspace.outputs / "clip2.webm")])
    mp4 = item_id(client, "format:mp4")
    response = client.get(f"/api/mediapilot/{mp4}/thumb")
    frame = Image.open(io.BytesIO(response.content))
    assert frame.size == (256, 144) and response.content != thumbs.placeholder("video", 256)
    ranged = client.get(f"/api/mediapilot/{mp4}/file", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.headers["content-type"] == "video/mp4" and len(ranged.content) == 100
    monkeypatch.setattr(videofiles.shutil, "which", lambda name: None)  # no ffmpeg on PATH
    webm = item_id(client, "format:webm")
    assert client.get(f"/api/mediapilot/{webm}/thumb").content == thumbs.placeholder("video", 256)


def test_organise_through_the_api(env):
    ctx, client = env
    ink, plain = item_id(client, "lora:ink"), item_id(client, "path:plain")
    assert client.post("/api/mediapilot/favourite", json={"ids": [ink]}).json() == {"changed": 1}
    assert client.post("/api/mediapilot/tags", json={"ids": [ink, plain], "add": ["whales"]}).json() == {"changed": 2}
    assert client.get("/api/mediapilot/tags").json() == [{"tag": "whales", "count": 2}]
    assert item_id(client, "fav:yes tag:whales") == ink
    trashed = client.post("/api/mediapilot/trash", json={"ids": [plain]}).json()
    assert trashed == {"done": [plain], "failed": {}}
    listing = client.get("/api/mediapilot/trash").json()
    assert [i["id"] for i in listing["items"]] == [plain] and listing["keep_days"] == 30
    assert client.get(f"/api/mediapilot/{plain}/file").status_code == 400
    assert client.post("/api/mediapilot/trash/restore", json={"ids": [plain]}).json()["done"] == [plain]
    assert client.get(f"/api/mediapilot/{plain}/file").status_code == 200
    client.post("/api/mediapilot/trash", json={"ids": [plain]})
    assert client.post("/api/mediapilot/trash/empty", json={}).json()["removed"] == 0  # younger than the policy
    assert client.post("/api/mediapilot/trash/empty", json={"all": True}).json()["removed"] == 1
    moved = client.post("/api/mediapilot/move", json={"ids": [ink], "dest": "../outside"})
    assert moved.status_code == 400 and "outside" in moved.json()["detail"]
    assert client.post("/api/mediapilot/move", json={"ids": [], "dest": "x"}).status_code == 422
    zipped = client.get("/api/mediapilot/zip", params={"ids": str(ink)})
    assert zipped.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(zipped.content)).namelist() == ["ComfyUI_00001_.png"]
    assert client.get("/api/mediapilot/zip", params={"ids": "77777"}).status_code == 404
    # A selection of any size gets a short download link (a proxy refuses URLs past 8-16 KB).
    link = client.post("/api/mediapilot/zip/selection", json={"ids": [ink, ink]}).json()
    assert link["count"] == 1 and len(link["url"]) < 64 and link["url"].startswith("/api/mediapilot/zip/")
    by_link = client.get(link["url"])
    assert by_link.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(by_link.content)).namelist() == ["ComfyUI_00001_.png"]
    assert client.get(link["url"]).status_code == 200  # a download manager may fetch it again
    missing = client.post("/api/mediapilot/zip/selection", json={"ids": [ink, 77777]})
    assert missing.status_code == 404 and "77777" in missing.json()["detail"]
    assert client.post("/api/mediapilot/zip/selection", json={"ids": list(range(1, 10_002))}).status_code == 422
    unknown = client.get("/api/mediapilot/zip/not-a-token")
    assert unknown.status_code == 404 and "expired" in unknown.json()["detail"]
    compare = client.get("/api/mediapilot/compare", params={"ids": f"{ink},{ink}"})
    assert compare.status_code == 400


class _FakeComfy(BaseHTTPRequestHandler):
    """A loopback stand-in for ComfyUI's POST /prompt (same request and answer shapes)."""

    received: list = []
    refuse = False

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body))
        if type(self).refuse:
            answer, status = (
                {
                    "error": {
                        "type": "prompt_outputs_failed_validation",
                        "message": "Prompt outputs failed validation",
                    },
                    "node_errors": {},
                },
                400,
            )
        else:
            answer, status = {"prompt_id": "c0ffee", "number": 3, "node_errors": {}}, 200
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_send_to_comfy(env):
    ctx, client = env
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _FakeComfy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        ink = item_id(client, "lora:ink")
        answer = client.post(f"/api/mediapilot/{ink}/send-to-comfy", json={"url": url}).json()
        assert answer == {"prompt_id": "c0ffee", "number": 3, "node_errors": {}}
        path, body = _FakeComfy.received[-1]
        assert path == "/prompt"
        assert body["prompt"] == GRAPH
        assert body["extra_data"] == {"extra_pnginfo": {"workflow": WORKFLOW}}
        _FakeComfy.refuse = True
        refused = client.post(f"/api/mediapilot/{ink}/send-to-comfy", json={"url": url})
        assert refused.status_code == 400 and "Prompt outputs failed validation" in refused.json()["detail"]
        plain = item_id(client, "path:plain")
        none = client.post(f"/api/mediapilot/{plain}/send-to-comfy", json={"url": url})
        assert none.status_code == 400 and "no ComfyUI prompt graph" in none.json()["detail"]
        far = client.post(f"/api/mediapilot/{ink}/send-to-comfy", json={"url": "http://example.com:8188"})
        assert far.status_code == 400 and "on this machine" in far.json()["detail"]
    finally:
        _FakeComfy.refuse = False
        server.shutdown()


def test_watcher_runs_with_the_app(tmp_path):
    ctx, lib = make_library(tmp_path)  # watch defaults to on
    lib.close()
    mf.png(ctx.workspace.outputs / "early.png")
    with make_client(ctx) as client:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if client.get("/api/mediapilot/search").json()["items"]:
                break
            time.sleep(0.1)
        assert [i["name"] for i in client.get("/api/mediapilot/search").json()["items"]] == ["early.png"]
        assert client.app.state.media_watcher.thread.is_alive()
    assert not client.app.state.media_watcher.thread.is_alive()


def test_a_file_swapped_for_a_symlink_is_not_served(env, tmp_path):
    ctx, client = env
    plain = item_id(client, "path:plain")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve me")
    path = ctx.workspace.outputs / "comfy" / "plain.png"
    path.unlink()
    path.symlink_to(secret)
    response = client.get(f"/api/mediapilot/{plain}/file")
    assert response.status_code == 400 and "outside" in response.json()["detail"]
    ink = item_id(client, "lora:ink")
    zipped = client.get("/api/mediapilot/zip", params={"ids": f"{plain},{ink}"})
    assert zipfile.ZipFile(io.BytesIO(zipped.content)).namelist() == ["ComfyUI_00001_.png"]
    assert b"do not serve me" not in zipped.content

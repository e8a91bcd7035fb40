"""The crop routes over real HTTP shapes (FastAPI test client, a real workspace, real Pillow images)."""

import io

import pytest
from PIL import Image

from support.api import make_client
from support.tagpilot import wait_task

URL = "/api/tagpilot/datasets/set/images/{}/crop"


@pytest.fixture
def client(ctx):
    client = make_client(ctx)
    client.post("/api/tagpilot/datasets", json={"name": "set"})
    for name, size in (("wide.png", (600, 400)), ("tall.jpg", (300, 500))):
        buffer = io.BytesIO()
        Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG" if name.endswith("png") else "JPEG")
        client.post(f"/api/tagpilot/datasets/set/files/{name}", content=buffer.getvalue())
    return client


def decoded_size(content: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(content)).size


def test_crop_to_an_aspect_around_a_focus_then_reset(client, ctx):
    original = client.get("/api/tagpilot/datasets/set/images/wide.png/file").content
    assert client.get(URL.format("wide.png")).json() == {
        "image": "wide.png",
        "cropped": False,
        "original_width": 600,
        "original_height": 400,
        "aspect": "free",
        "focus": {"x": 0.5, "y": 0.5},
        "box": None,
    }
    before = client.get("/api/tagpilot/datasets/set/images/wide.png").json()
    state = client.put(URL.format("wide.png"), json={"aspect": "1:1", "focus": {"x": 0.4, "y": 0.3}}).json()
    assert state["cropped"] and state["box"] == {"x": 40, "y": 0, "width": 400, "height": 400}
    # the grid's metadata, the file, the thumbnail and the original all follow
    after = client.get("/api/tagpilot/datasets/set/images/wide.png").json()
    assert (after["width"], after["height"]) == (400, 400) and after["mtime_ns"] != before["mtime_ns"]
    assert decoded_size(client.get("/api/tagpilot/datasets/set/images/wide.png/file").content) == (400, 400)
    thumb = client.get("/api/tagpilot/datasets/set/images/wide.png/thumb", params={"size": 128}).content
    assert decoded_size(thumb) == (128, 128)
    assert client.get("/api/tagpilot/datasets/set/images/wide.png/original").content == original
    assert (ctx.workspace.datasets / "set" / ".tagpilot" / "originals" / "wide.png").read_bytes() == original

    reset = client.delete(URL.format("wide.png"))
    assert reset.status_code == 200 and reset.json()["cropped"] is False
    assert client.get("/api/tagpilot/datasets/set/images/wide.png/file").content == original
    assert client.delete(URL.format("wide.png")).status_code == 404


def test_a_box_from_the_editor_is_cut_exactly(client):
    body = {"aspect": "3:4", "box": {"x": 10, "y": 20, "width": 240, "height": 320}, "focus": {"x": 0.2, "y": 0.3}}
    state = client.put(URL.format("tall.jpg"), json=body).json()
    assert state["box"] == body["box"] and state["focus"] == body["focus"] and state["aspect"] == "3:4"
    assert decoded_size(client.get("/api/tagpilot/datasets/set/images/tall.jpg/file").content) == (240, 320)


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"aspect": "5:7"}, 400, "aspect '5:7' is not a preset"),
        ({"aspect": "1:1", "focus": {"x": 1.5, "y": 0.5}}, 400, "focus x = 1.5 is outside 0..1"),
        ({"box": {"x": 0, "y": 0, "width": 700, "height": 10}}, 400, "box 0,0,700,10 is outside the image (600×400)"),
        (
            {"aspect": "16:9", "box": {"x": 0, "y": 0, "width": 100, "height": 100}},
            400,
            "box 100×100 is not aspect 16:9",
        ),
        ({"aspect": "1:1", "angle": 3}, 422, "angle"),
    ],
)
def test_bad_input_is_refused_naming_the_field(client, body, status, detail):
    response = client.put(URL.format("wide.png"), json=body)
    assert response.status_code == status
    assert detail in str(response.json()["detail"])
    assert client.get(URL.format("wide.png")).json()["cropped"] is False


def test_unknown_images_and_datasets_are_404(client):
    assert client.put(URL.format("nope.png"), json={"aspect": "1:1"}).status_code == 404
    assert client.put("/api/tagpilot/datasets/nope/images/a.png/crop", json={"aspect": "1:1"}).status_code == 404


def test_bulk_crop_is_a_task_with_progress(client):
    client.put(URL.format("wide.png"), json={"aspect": "1:1", "focus": {"x": 1.0, "y": 0.5}})
    task = client.post("/api/tagpilot/datasets/set/crop", json={"aspect": "4:5", "images": ["wide.png", "tall.jpg"]})
    assert task.status_code == 202 and task.json()["kind"] == "tagpilot.crop"
    done = wait_task(client, task.json())
    assert done["state"] == "done" and (done["current"], done["total"]) == (2, 2)
    assert done["result"] == {"aspect": "4:5", "cropped": ["wide.png", "tall.jpg"], "failed": {}}
    assert client.get(URL.format("wide.png")).json()["box"] == {"x": 280, "y": 0, "width": 320, "height": 400}
    assert client.get(URL.format("tall.jpg")).json()["box"] == {"x": 0, "y": 62, "width": 300, "height": 375}
    bad = client.post("/api/tagpilot/datasets/set/crop", json={"aspect": "free", "images": ["wide.png"]})
    assert bad.status_code == 400 and "a bulk crop needs one of" in bad.json()["detail"]
    missing = client.post("/api/tagpilot/datasets/set/crop", json={"aspect": "1:1", "images": ["nope.png"]})
    assert missing.status_code == 404


def test_the_aspect_presets_are_listed(client):
    aspects = client.get("/api/tagpilot/crop-aspects").json()["aspects"]
    names = [a["name"] for a in aspects]
    assert names[:8] == ["free", "1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16"]
    assert {"name": "1216x832", "width": 1216, "height": 832} in aspects

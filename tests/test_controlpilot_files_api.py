"""The file browser API: list, download, upload, mkdir, rename, delete to trash, restore."""

from __future__ import annotations

import os

import pytest

from support.api import make_client
from support.workspaces import make_workspace


@pytest.fixture
def ws_client(tmp_path):
    ctx = make_workspace(tmp_path / "ws", settings={"controlpilot": {"upload_limit_mb": 1}})
    root = ctx.workspace.root
    (root / "models").mkdir()
    (root / "datasets" / "cats").mkdir(parents=True)
    (root / "datasets" / "cats" / "1.txt").write_text("a cat")
    (root / "config" / "secrets.env").write_text("HF_TOKEN=hf_secret_value\n")
    return root, make_client(ctx)


def test_list_shows_folders_first_and_hides_the_trash(ws_client):
    root, client = ws_client
    (root / ".trash").mkdir()
    (root / "zeta.txt").write_text("z")
    resp = client.get("/api/files")
    assert resp.status_code == 200
    body = resp.json()
    names = [e["name"] for e in body["entries"]]
    assert ".trash" not in names
    assert names.index("datasets") < names.index("zeta.txt")
    assert body["path"] == "" and body["parent"] is None
    sub = client.get("/api/files", params={"path": "datasets/cats"}).json()
    assert sub["parent"] == "datasets"
    assert sub["entries"] == [
        {
            **sub["entries"][0],
            "name": "1.txt",
            "path": "datasets/cats/1.txt",
            "kind": "file",
            "size": 5,
            "is_symlink": False,
        }
    ]


def test_download_returns_the_bytes_as_an_attachment(ws_client):
    _, client = ws_client
    resp = client.get("/api/files/download", params={"path": "datasets/cats/1.txt"})
    assert resp.status_code == 200 and resp.content == b"a cat"
    assert "attachment" in resp.headers["content-disposition"]
    assert client.get("/api/files/download", params={"path": "datasets"}).json() == {
        "detail": "'datasets' is not a file"
    }
    assert client.get("/api/files/download", params={"path": "nope.bin"}).status_code == 404


def test_secrets_are_listed_as_protected_and_never_served(ws_client):
    root, client = ws_client
    entries = client.get("/api/files", params={"path": "config"}).json()["entries"]
    assert next(e for e in entries if e["name"] == "secrets.env")["protected"] is True
    os.symlink(root / "config" / "secrets.env", root / "datasets" / "innocent.txt")
    for path in ("config/secrets.env", "datasets/innocent.txt", str(root / "config" / "secrets.env")):
        resp = client.get("/api/files/download", params={"path": path})
        assert resp.status_code == 400 and "secrets" in resp.json()["detail"]
        assert "hf_secret_value" not in resp.text
    assert client.post("/api/files/delete", json={"path": "config/secrets.env"}).status_code == 400
    assert client.post("/api/files/rename", json={"path": "config/secrets.env", "to": "x.env"}).status_code == 400
    assert (root / "config" / "secrets.env").read_text() == "HF_TOKEN=hf_secret_value\n"


def test_a_hugging_face_login_token_in_the_workspace_cache_is_never_served(ws_client):
    # HF_HOME is <workspace>/cache/huggingface: `hf auth login` in JupyterLab writes the token there.
    root, client = ws_client
    hf = root / "cache" / "huggingface"
    hf.mkdir(parents=True)
    (hf / "token").write_text("hf_logged_in_token")
    (hf / "stored_tokens").write_text("[default]\nhf_token = hf_logged_in_token\n")
    listed = {e["name"]: e for e in client.get("/api/files", params={"path": "cache/huggingface"}).json()["entries"]}
    assert listed["token"]["protected"] is True and listed["stored_tokens"]["protected"] is True
    for name in ("token", "stored_tokens"):
        resp = client.get("/api/files/download", params={"path": f"cache/huggingface/{name}"})
        assert resp.status_code == 400 and "secrets" in resp.json()["detail"]
        assert "hf_logged_in_token" not in resp.text
        assert (
            client.post(
                "/api/files/rename", json={"path": f"cache/huggingface/{name}", "to": f"datasets/{name}"}
            ).status_code
            == 400
        )
    # Moving the folder would put the token where it is served: refused, with the reason.
    moved = client.post("/api/files/rename", json={"path": "cache/huggingface", "to": "datasets/hf"})
    assert moved.status_code == 400 and "cache/huggingface/token" in moved.json()["detail"]
    assert (hf / "token").read_text() == "hf_logged_in_token"


def test_upload_streams_to_disk_and_never_overwrites(ws_client):
    root, client = ws_client
    data = os.urandom(300_000)
    resp = client.post("/api/files/upload", params={"path": "datasets/cats", "name": "2.png"}, content=data)
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"path": "datasets/cats/2.png", "size": len(data)}
    assert (root / "datasets" / "cats" / "2.png").read_bytes() == data
    again = client.post("/api/files/upload", params={"path": "datasets/cats", "name": "2.png"}, content=b"other")
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    assert (root / "datasets" / "cats" / "2.png").read_bytes() == data
    assert sorted(os.listdir(root / "datasets" / "cats")) == ["1.txt", "2.png"]


def test_upload_over_the_limit_is_refused_and_leaves_nothing(ws_client):
    root, client = ws_client
    before = sorted(os.listdir(root / "datasets" / "cats"))
    big = b"x" * (1024 * 1024 + 1)
    # Announced size over the limit: refused before a byte is written.
    resp = client.post("/api/files/upload", params={"path": "datasets/cats", "name": "big.bin"}, content=big)
    assert resp.status_code == 413 and "upload limit" in resp.json()["detail"]

    # No announced size (chunked): refused while streaming, the partial file removed.
    def chunks():
        for _ in range(20):
            yield b"y" * 100_000

    resp = client.post("/api/files/upload", params={"path": "datasets/cats", "name": "big2.bin"}, content=chunks())
    assert resp.status_code == 413
    assert sorted(os.listdir(root / "datasets" / "cats")) == before


def test_mkdir_rename_delete_and_restore(ws_client):
    root, client = ws_client
    assert client.post("/api/files/mkdir", json={"path": "datasets", "name": "dogs"}).json() == {
        "path": "datasets/dogs"
    }
    assert client.post("/api/files/mkdir", json={"path": "datasets", "name": "dogs"}).status_code == 409
    moved = client.post("/api/files/rename", json={"path": "datasets/cats/1.txt", "to": "datasets/dogs/one.txt"})
    assert moved.json() == {"path": "datasets/dogs/one.txt"}
    assert (root / "datasets" / "dogs" / "one.txt").read_text() == "a cat"
    item = client.post("/api/files/delete", json={"path": "datasets/dogs"}).json()
    assert item["original"] == "datasets/dogs" and item["is_dir"] is True
    assert not (root / "datasets" / "dogs").exists()
    assert [t["id"] for t in client.get("/api/files/trash").json()] == [item["id"]]
    assert client.post(f"/api/files/trash/{item['id']}/restore").json() == {"path": "datasets/dogs"}
    assert (root / "datasets" / "dogs" / "one.txt").read_text() == "a cat"
    assert client.get("/api/files/trash").json() == []


def test_layout_folders_cannot_be_deleted_or_renamed(ws_client):
    root, client = ws_client
    for path in ("models", "datasets", "", "/"):
        resp = client.post("/api/files/delete", json={"path": path})
        assert resp.status_code == 400, path
    assert client.post("/api/files/rename", json={"path": "config", "to": "cfg"}).status_code == 400
    assert (root / "config").is_dir()


def test_a_symlink_pointing_out_is_listed_and_deleted_as_a_link(ws_client, tmp_path):
    root, client = ws_client
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    os.symlink(outside, root / "datasets" / "escape")
    entries = client.get("/api/files", params={"path": "datasets"}).json()["entries"]
    link = next(e for e in entries if e["name"] == "escape")
    assert link["kind"] == "link" and link["is_symlink"] is True
    assert client.get("/api/files", params={"path": "datasets/escape"}).status_code == 400
    assert client.post("/api/files/delete", json={"path": "datasets/escape"}).status_code == 200
    assert not os.path.lexists(root / "datasets" / "escape")
    assert (outside / "keep.txt").read_text() == "keep"


def test_tasks_api_lists_and_cancels_background_work(ctx):
    import threading

    client = make_client(ctx)
    tasks = client.app.state.tasks
    started = threading.Event()

    def work(progress, cancel):
        progress(1, 10, "working")
        started.set()
        cancel.wait(10)

    task = tasks.submit("demo", "A demo task", work)
    started.wait(5)
    listed = client.get("/api/tasks").json()
    assert [(t["id"], t["kind"], t["message"]) for t in listed] == [(task.id, "demo", "working")]
    assert client.post(f"/api/tasks/{task.id}/cancel").status_code == 200
    deadline = __import__("time").monotonic() + 5
    while client.get(f"/api/tasks/{task.id}").json()["state"] != "cancelled":
        assert __import__("time").monotonic() < deadline
    assert client.get("/api/tasks/nope").status_code == 404


def test_empty_trash_only_when_asked_and_by_age(ws_client):
    import json

    root, client = ws_client
    old = client.post("/api/files/delete", json={"path": "datasets/cats/1.txt"}).json()
    info = root / ".trash" / old["id"] / "info.json"
    data = json.loads(info.read_text())
    data["deleted_at"] -= 40 * 86400
    info.write_text(json.dumps(data))
    client.post("/api/files/mkdir", json={"path": "datasets", "name": "fresh"})
    client.post("/api/files/delete", json={"path": "datasets/fresh"})
    assert client.post("/api/files/trash/empty", json={"older_than_days": 30}).json() == {"removed": 1}
    assert [t["original"] for t in client.get("/api/files/trash").json()] == ["datasets/fresh"]
    assert client.post("/api/files/trash/empty", json={"older_than_days": -1}).status_code == 422
    assert client.post("/api/files/trash/empty", json={}).json() == {"removed": 1}
    assert client.get("/api/files/trash").json() == []


def test_restoring_onto_a_taken_name_is_a_conflict_then_restores_elsewhere_when_asked(ws_client):
    root, client = ws_client
    item = client.post("/api/files/delete", json={"path": "datasets/cats/1.txt"}).json()
    (root / "datasets" / "cats" / "1.txt").write_text("a new cat")
    resp = client.post(f"/api/files/trash/{item['id']}/restore")
    assert resp.status_code == 409 and "datasets/cats/1.txt exists" in resp.json()["detail"]
    assert (root / "datasets" / "cats" / "1.txt").read_text() == "a new cat"
    elsewhere = client.post(f"/api/files/trash/{item['id']}/restore", json={"to": "datasets/cats/1 (restored).txt"})
    assert elsewhere.json() == {"path": "datasets/cats/1 (restored).txt"}
    assert (root / "datasets" / "cats" / "1 (restored).txt").read_text() == "a cat"
    assert (root / "datasets" / "cats" / "1.txt").read_text() == "a new cat"

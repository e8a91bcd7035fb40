"""The built web UI is served with an SPA fallback, and a clear page when it is not built."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from lorapilot.controlpilot.webapp import mount_web
from support.api import make_anonymous_client


def _app(static_dir) -> TestClient:
    app = FastAPI()
    mount_web(app, static_dir)
    return TestClient(app)


def test_spa_fallback_serves_index_for_page_paths_not_api_paths(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    client = _app(tmp_path)
    for path in ("/", "/files", "/services/comfyui", "/deep/link?x=1"):
        resp = client.get(path)
        assert resp.status_code == 200 and "id=root" in resp.text, path
        assert resp.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/index-abc123.js")
    assert asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]
    assert asset.headers["content-encoding"] == "gzip"  # decoded by the client above
    plain = client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == b"console.log(1)"
    assert client.get("/favicon.svg").text == "<svg/>"
    assert client.get("/assets/missing.js").status_code == 404
    missing_api = client.get("/api/nothing")
    assert missing_api.status_code == 404 and missing_api.json() == {"detail": "no API route /api/nothing"}


def test_static_fallback_cannot_read_outside_the_static_folder(tmp_path):
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("INDEX")
    (tmp_path / "secret.txt").write_text("SECRET")
    client = _app(static)
    for path in (
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
    ):
        assert "SECRET" not in client.get(path).text, path


def test_unbuilt_assets_give_a_page_that_says_how_to_build(tmp_path):
    resp = _app(tmp_path / "nothing-here").get("/")
    assert resp.status_code == 503
    assert "npm ci" in resp.text and "npm run build" in resp.text


def test_the_app_serves_the_page_without_login(ctx):
    client = make_anonymous_client(ctx)
    resp = client.get("/services")
    assert resp.status_code in (200, 503)
    assert resp.headers["content-type"].startswith("text/html")

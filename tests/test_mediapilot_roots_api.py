"""``/api/mediapilot/roots``: list, add (a scan task with progress), remove, and bad input."""

from __future__ import annotations

from support import media_files as mf
from support.api import make_anonymous_client, make_client
from support.media_lib import make_library
from test_mediapilot_api import wait_task


def test_roots_through_the_api(tmp_path):
    ctx, lib = make_library(tmp_path, media={"watch": False, "api_allowed_roots": [str(tmp_path / "renders")]})
    lib.close()
    renders = tmp_path / "renders"
    for n in range(3):
        mf.png(renders / f"r{n}.png")
    client = make_client(ctx)
    try:
        roots = client.get("/api/mediapilot/roots").json()
        assert [(r["label"], r["files"], r["reachable"], r["removable"]) for r in roots] == [
            ("outputs", 0, True, False)
        ]

        added = client.post("/api/mediapilot/roots", json={"path": str(renders)})
        assert added.status_code == 200, added.text
        body = added.json()
        assert body["root"]["path"] == str(renders) and body["task"]["kind"] == "media-scan"
        task = wait_task(client, body["task"]["id"])
        assert task.result["added"] == 3 and task.total == 3 and task.current == 3  # progress was reported
        listed = {r["label"]: r for r in client.get("/api/mediapilot/roots").json()}
        assert listed[str(renders)]["files"] == 3
        assert "[mediapilot]" in ctx.workspace.settings_file.read_text()

        dup = client.post("/api/mediapilot/roots", json={"path": str(renders)})
        assert dup.status_code == 409 and str(renders) in dup.json()["detail"]
        missing = client.post("/api/mediapilot/roots", json={"path": str(tmp_path / "gone")})
        assert missing.status_code == 400
        assert f"media root '{tmp_path / 'gone'}': no such folder" == missing.json()["detail"]
        config = client.post("/api/mediapilot/roots", json={"path": str(ctx.workspace.config)})
        assert config.status_code == 400 and "config/" in config.json()["detail"]
        assert client.post("/api/mediapilot/roots", json={"path": ""}).status_code == 422

        out = client.post("/api/mediapilot/roots/remove", json={"path": "outputs"})
        assert out.status_code == 400 and "always indexed" in out.json()["detail"]
        unknown = client.post("/api/mediapilot/roots/remove", json={"path": "/nowhere"})
        assert unknown.status_code == 404
        removed = client.post("/api/mediapilot/roots/remove", json={"path": str(renders)})
        assert removed.json() == {"removed": str(renders), "unindexed": 3}
        assert client.get("/api/mediapilot/search").json()["items"] == []
        assert [r["label"] for r in client.get("/api/mediapilot/roots").json()] == ["outputs"]
    finally:
        client.app.state.media_library.close()


def test_roots_endpoints_need_credentials(tmp_path):
    ctx, lib = make_library(tmp_path, media={"watch": False})
    lib.close()
    anonymous = make_anonymous_client(ctx)
    assert anonymous.get("/api/mediapilot/roots").status_code == 401
    assert anonymous.post("/api/mediapilot/roots", json={"path": str(tmp_path)}).status_code == 401
    assert anonymous.post("/api/mediapilot/roots/remove", json={"path": str(tmp_path)}).status_code == 401
    assert "extra_roots" not in ctx.workspace.settings_file.read_text()  # nothing was written


def test_the_api_adds_only_workspace_folders_or_allowed_ones(tmp_path):
    """The audit added /root through the API, then read and emptied it; now only the CLI or settings can."""
    ctx, lib = make_library(tmp_path, media={"watch": False, "api_allowed_roots": [str(tmp_path / "volumes")]})
    lib.close()
    for name in ("private", "volumes/renders"):
        (tmp_path / name).mkdir(parents=True)
    inside = ctx.workspace.root / "renders"
    inside.mkdir()
    (tmp_path / "elsewhere").symlink_to(inside)
    os_link_out = ctx.workspace.root / "link-out"
    os_link_out.symlink_to(tmp_path / "private")
    client = make_client(ctx)
    try:
        for refused in (
            str(tmp_path / "private"),
            "/root",
            "~root",
            "/",
            str(os_link_out),
            str(tmp_path / "volumes" / ".." / "private"),
        ):
            resp = client.post("/api/mediapilot/roots", json={"path": refused})
            assert resp.status_code in (400, 404), (refused, resp.status_code, resp.text)
        assert "private" not in ctx.workspace.settings_file.read_text()
        outside = client.post("/api/mediapilot/roots", json={"path": str(tmp_path / "private")})
        assert "lorapilot mediapilot roots add" in outside.json()["detail"]
        assert client.post("/api/mediapilot/roots", json={"path": str(inside)}).status_code == 200
        assert (
            client.post("/api/mediapilot/roots", json={"path": str(tmp_path / "volumes" / "renders")}).status_code
            == 200
        )
        for hostile in ("a\x00b", "/" + "x" * 5000, "x" * 300):
            for route in ("/api/mediapilot/roots", "/api/mediapilot/roots/remove"):
                resp = client.post(route, json={"path": hostile})
                assert 400 <= resp.status_code < 500, (route, hostile[:10], resp.status_code)
    finally:
        client.app.state.media_library.close()


def test_the_cli_may_still_add_a_folder_outside(tmp_path):
    from click.testing import CliRunner

    from lorapilot.cli import cli

    ctx, lib = make_library(tmp_path, media={"watch": False})
    lib.close()
    private = tmp_path / "private"
    mf.png(private / "p.png")
    result = CliRunner().invoke(
        cli, ["media", "roots", "add", str(private), "--no-scan", "--workspace", str(ctx.workspace.root)]
    )
    assert result.exit_code == 0, result.output
    assert str(private) in ctx.workspace.settings_file.read_text()

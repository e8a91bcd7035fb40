"""``cwd`` and ``add_dirs`` must resolve inside the workspace; every escape is a 400 and runs nothing.

Folders that are, lie in or hold ``config/`` (secrets.env) or ``apps/copilot/`` (Copilot's own state)
are refused too: the CLI's read tools need no permission inside its folders.
"""

from __future__ import annotations

import os

import pytest

from support.copilot_sidecar import running_sidecar
from support.fake_copilot import parse_report
from support.workspaces import make_workspace


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory):
    base = tmp_path_factory.mktemp("cwd")
    ctx = make_workspace(base / "ws", enabled={"copilot"})
    root = ctx.workspace.root
    (base / "outside").mkdir()
    (root / "datasets" / "cats").mkdir(parents=True)
    (root / "outputs").mkdir(exist_ok=True)
    (root / "notes.txt").write_text("a file, not a folder")
    os.symlink(base / "outside", root / "datasets" / "link-out")
    os.symlink(root / "datasets" / "cats", root / "outputs" / "link-in")
    with running_sidecar(ctx) as sc:
        yield sc


@pytest.mark.parametrize(
    "cwd",
    [
        "..",
        "../outside",
        "/etc",
        "/",
        "datasets/../../outside",
        "datasets/link-out",
        "nope/missing",
        "notes.txt",
        "datasets/cats\x00/etc",
        "a/" * 3000,
    ],
)
def test_cwd_escapes_are_refused(sidecar, cwd):
    before = len(_history(sidecar))
    with sidecar.client() as client:
        resp = client.post("/chat", json={"prompt": "list files", "cwd": cwd})
    assert resp.status_code == 400, resp.text
    assert resp.json()["detail"]
    assert len(_history(sidecar)) == before, "nothing ran, nothing recorded"


@pytest.mark.parametrize("add_dir", ["..", "/tmp", "datasets/link-out"])
def test_add_dir_escapes_are_refused(sidecar, add_dir):
    with sidecar.client() as client:
        resp = client.post("/chat", json={"prompt": "x", "add_dirs": [add_dir]})
    assert resp.status_code == 400
    assert "outside" in resp.json()["detail"] or "not a directory" in resp.json()["detail"]


def test_paths_inside_run_there(sidecar):
    root = sidecar.ctx.workspace.root.resolve()
    with sidecar.client() as client:
        relative = client.post("/chat", json={"prompt": "x", "cwd": "datasets/cats"}).json()
        absolute = client.post("/chat", json={"prompt": "x", "cwd": str(root / "datasets")}).json()
        via_link = client.post("/chat", json={"prompt": "x", "cwd": "outputs/link-in", "add_dirs": ["outputs"]}).json()
    assert parse_report(relative["stdout"])["cwd"] == str(root / "datasets" / "cats")
    assert relative["cwd"] == "datasets/cats"
    assert parse_report(absolute["stdout"])["cwd"] == str(root / "datasets")
    report = parse_report(via_link["stdout"])
    assert report["cwd"] == str(root / "datasets" / "cats")
    assert f"--add-dir={root / 'outputs'}" in report["argv"]


PROTECTED = [".", "config", "config/generated", "apps", "apps/copilot", "apps/copilot/home", "datasets/.."]


@pytest.mark.parametrize("field, folder", [("cwd", f) for f in PROTECTED] + [("add_dirs", f) for f in PROTECTED + [""]])
def test_folders_that_would_show_secrets_or_copilot_state_are_refused(sidecar, field, folder):
    root = sidecar.ctx.workspace.root
    (root / "config" / "generated").mkdir(parents=True, exist_ok=True)
    (root / "apps" / "copilot" / "home").mkdir(parents=True, exist_ok=True)
    body = {"prompt": "show me the tokens", field: folder if field == "cwd" else [folder]}
    before = len(_history(sidecar))
    with sidecar.client() as client:
        resp = client.post("/chat", json=body)
    assert resp.status_code == 400, resp.text
    detail = resp.json()["detail"]
    assert "would let Copilot read" in detail and "--permit-allow-all" in detail
    assert len(_history(sidecar)) == before


def test_a_link_to_config_is_refused(sidecar):
    root = sidecar.ctx.workspace.root
    link = root / "datasets" / "cfg-link"
    if not link.exists():
        os.symlink(root / "config", link)
    with sidecar.client() as client:
        resp = client.post("/chat", json={"prompt": "x", "cwd": "datasets/cfg-link"})
    assert resp.status_code == 400
    assert "config/" in resp.json()["detail"]


def test_with_the_opt_in_the_workspace_root_is_allowed(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    with running_sidecar(ctx, args=("--permit-allow-all",)) as sidecar, sidecar.client() as client:
        result = client.post("/chat", json={"prompt": "x", "cwd": "."}).json()
    assert parse_report(result["stdout"])["cwd"] == str(ctx.workspace.root.resolve())


def test_the_default_folder_comes_from_the_settings(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"}, settings={"copilot": {"default_cwd": "datasets/new"}})
    with running_sidecar(ctx) as sidecar, sidecar.client() as client:
        status = client.get("/status").json()
        result = client.post("/chat", json={"prompt": "x"}).json()
    folder = ctx.workspace.root.resolve() / "datasets" / "new"
    assert status["cwd"] == str(folder) and status["cwd_error"] is None
    assert parse_report(result["stdout"])["cwd"] == str(folder)
    assert result["cwd"] == "datasets/new"


def test_a_default_folder_outside_the_workspace_names_the_setting(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"}, settings={"copilot": {"default_cwd": "../elsewhere"}})
    with running_sidecar(ctx) as sidecar, sidecar.client() as client:
        status = client.get("/status").json()
        resp = client.post("/chat", json={"prompt": "x"})
    assert status["cwd"] is None and "[copilot] default_cwd '../elsewhere'" in status["cwd_error"]
    assert resp.status_code == 400 and "[copilot] default_cwd '../elsewhere'" in resp.json()["detail"]
    assert not (tmp_path / "elsewhere").exists()


def _history(sidecar) -> list:
    with sidecar.client() as client:
        return client.get("/history", params={"limit": 500}).json()["entries"]

"""Hostile paths against every file API operation: zero escapes, nothing written outside.

More than 100 paths: '..' in many spellings, URL-encoded traversal (decoded once by
the server), absolute paths, symlinks that point out (direct, chained, relative,
dangling), NUL bytes, very long names, backslashes, control characters.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

import pytest

from support.api import make_client
from support.workspaces import make_workspace

SENTINEL = b"TOP-SECRET-OUTSIDE-CONTENT"
HIDDEN_NAME = "hidden-xyz-outside.dat"  # appears in no hostile path: seeing it means a listing leaked


def _tree(root: Path) -> dict[str, str]:
    """Every entry under ``root`` with a fingerprint of its content (links as their target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def hostile_paths(ws: Path, outside: Path) -> tuple[list[str], list[str]]:
    """(paths that point outside the workspace, paths that are only odd names).

    Odd names may legitimately succeed inside the workspace; escaping ones must be refused.
    """
    rel_out = os.path.relpath(outside, ws)  # e.g. "../outside"
    escaping = [
        "..",
        "../",
        "../..",
        "../../..",
        "../../../..",
        "./..",
        "./../",
        "./../..",
        "../" + rel_out,
        rel_out,
        rel_out + "/",
        rel_out + "/secret.txt",
        rel_out + "/dir",
        rel_out + "/dir/",
        "../outside/secret.txt",
        "../../outside",
        "datasets/../..",
        "datasets/../../",
        "datasets/../../outside",
        "datasets/../../outside/secret.txt",
        "datasets/cats/../../../outside/secret.txt",
        "models/../../outside",
        "datasets/./../../outside",
        "datasets//../../outside",
        "datasets/.././../outside",
        ".//..//..//etc/passwd",
        "../../../../../../../../etc/passwd",
        "../../../../../../../../etc/shadow",
        "../../../../proc/self/environ",
        "datasets/cats/../../../../../../../../tmp",
        "../" * 40,
        "../" * 40 + "etc/passwd",
        str(outside),
        str(outside) + "/",
        str(outside / "secret.txt"),
        str(outside / "dir"),
        str(ws) + "/../outside",
        str(ws) + "/../outside/secret.txt",
        str(ws) + "/datasets/../../outside",
        str(ws.parent),
        "/",
        "//",
        "/etc",
        "/etc/passwd",
        "//etc/passwd",
        "/proc/self/environ",
        "/proc/self/cwd",
        "/root",
        "/tmp",
        "/dev/null",
        "/sys/kernel",
        str(Path.home()),
        # symlinks inside the workspace that point out
        "datasets/out_dir",
        "datasets/out_dir/",
        "datasets/out_dir/secret.txt",
        "datasets/out_dir/dir",
        "datasets/out_file",
        "datasets/chain",
        "datasets/chain/secret.txt",
        "datasets/rel",
        "datasets/rel/secret.txt",
        "datasets/rel/dir",
        "datasets/abs_root",
        "datasets/abs_root/etc/passwd",
        "datasets/out_dir/../secret.txt",
        "datasets/out_dir/./secret.txt",
        "datasets/out_dir/dir/..",
        "datasets/dangling/x",
        "datasets/loop/x",
        "datasets/out_dir/newdir",
        "datasets/dangling_dir/x",
    ]
    odd = [
        "%2e%2e",
        "%2e%2e/%2e%2e",
        "%2e%2e%2f%2e%2e",
        "..%2f..%2f",
        "%252e%252e/",
        "..%252f",
        "%c0%ae%c0%ae/",
        "..\\..\\outside",
        "..\\",
        "datasets\\..\\..\\outside",
        "...",
        "....",
        "..../....",
        ".../...",
        "..;/",
        "..%00",
        "a" * 300,
        ("a" * 255 + "/") * 20,
        "b/" * 2100,
        "x" * 5000,
        "\u2025/outside",
        "\uff0e\uff0e/outside",
        "..\u2215outside",
        "datasets/\u202e..",
        "~",
        "~/",
        "~root",
        "$HOME",
        "${HOME}/x",
        "`id`",
        "$(id)",
        "datasets/cats/\x00",
        "\x00",
        "..\x00",
        "datasets\x00/../../outside",
        "a\x00b",
        "../\x00/etc/passwd",
        "datasets\n/../..",
        "..\n",
        "\t..",
        " ..",
        ".. ",
        "datasets/ ../..",
        "\r\n",
        "CON",
        "aux.txt",
        "nul",
        "*",
        "?",
        "datasets/*",
        "[a-z]",
        "|",
        "<>",
        '"',
        "'",
        ";",
        "&",
        "#",
        "?x=1",
        "%",
        "%%",
        "%0a",
    ]
    return escaping, odd


# Links inside the workspace: renaming or deleting the link itself is allowed (it never
# touches the target), so for these two operations success is not an escape.
LINK_ENTRIES = {
    "datasets/out_dir",
    "datasets/out_dir/",
    "datasets/out_file",
    "datasets/chain",
    "datasets/rel",
    "datasets/abs_root",
    "datasets/dangling",
    "datasets/loop",
}


def _make_links(ws: Path, outside: Path) -> None:
    links = ws / "datasets"
    wanted = {
        "out_dir": outside,
        "out_file": outside / "secret.txt",
        "chain": links / "out_dir",
        "rel": os.path.relpath(outside, links),
        "abs_root": "/",
        "dangling": outside / "not-yet",
        "dangling_dir": outside / "not-yet-dir",
        "loop": links / "loop",
    }
    for name, target in wanted.items():
        if not os.path.lexists(links / name):
            os.symlink(target, links / name)


@pytest.fixture
def setup(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    ws = ctx.workspace.root
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_bytes(SENTINEL)
    (outside / "dir" / HIDDEN_NAME).write_bytes(SENTINEL)
    for name in ("models", "datasets/cats"):
        (ws / name).mkdir(parents=True, exist_ok=True)
    (ws / "datasets" / "victim.txt").write_text("victim")
    _make_links(ws, outside)
    return ws, outside, make_client(ctx)


def _trash_item(ws: Path, client) -> str:
    """A trash item to try restoring to hostile places (a fresh one if the last was restored)."""
    items = client.get("/api/files/trash").json()
    if items:
        return items[0]["id"]
    name = f"trashme-{uuid.uuid4().hex[:6]}.txt"
    (ws / "datasets" / name).write_text("t")
    return client.post("/api/files/delete", json={"path": f"datasets/{name}"}).json()["id"]


def _attempts(client, path: str, marker: str, trash_id: str):
    """Every operation with ``path`` in every slot a user controls."""
    yield "list", client.get("/api/files", params={"path": path})
    yield "download", client.get("/api/files/download", params={"path": path})
    yield "upload-folder", client.post("/api/files/upload", params={"path": path, "name": marker}, content=b"evil")
    yield "upload-name", client.post("/api/files/upload", params={"path": "datasets", "name": path}, content=b"evil")
    yield "mkdir-folder", client.post("/api/files/mkdir", json={"path": path, "name": marker})
    yield "mkdir-name", client.post("/api/files/mkdir", json={"path": "", "name": path})
    yield "rename-to", client.post("/api/files/rename", json={"path": "datasets/victim.txt", "to": path})
    yield "rename-from", client.post("/api/files/rename", json={"path": path, "to": f"datasets/{marker}"})
    yield "delete", client.post("/api/files/delete", json={"path": path})
    yield "restore-to", client.post(f"/api/files/trash/{trash_id}/restore", json={"to": path})


def test_no_hostile_path_escapes_the_workspace(setup, tmp_path):
    ws, outside, client = setup
    escaping, odd = hostile_paths(ws, outside)
    assert len(set(escaping)) + len(set(odd)) >= 100
    marker = f"evil-{uuid.uuid4().hex}"
    outside_before = _tree(outside)
    around_before = {p.name for p in tmp_path.iterdir()}
    refused = 0
    for path in escaping + odd:
        for op, resp in _attempts(client, path, marker, _trash_item(ws, client)):
            body = resp.content
            assert SENTINEL not in body, (op, path)
            assert HIDDEN_NAME.encode() not in body, (op, path)
            assert resp.status_code < 500, (op, path, resp.text)
            may_succeed = op in ("upload-name", "mkdir-name") or (
                path in LINK_ENTRIES and op in ("rename-from", "delete", "restore-to")
            )
            if path in escaping and not may_succeed:
                assert 400 <= resp.status_code < 500, (op, path, resp.status_code, resp.text)
                refused += 1
        # Put the victim back if an odd (but inside) name moved it.
        if not (ws / "datasets" / "victim.txt").exists():
            moved = [p for p in ws.rglob("*") if p.is_file() and p.read_bytes() == b"victim"]
            assert moved, f"victim.txt vanished after {path!r}"
            os.replace(moved[0], ws / "datasets" / "victim.txt")
        for stray in [*(ws / "datasets").glob("evil-*"), *(ws / "datasets").glob("trashme-*")]:
            # a link or an odd-named folder renamed by "rename-from", an item restored
            shutil.rmtree(stray) if stray.is_dir() and not stray.is_symlink() else stray.unlink()
        for name in LINK_ENTRIES:  # a restored item now sitting where a link was
            p = ws / name.rstrip("/")
            if os.path.lexists(p) and not p.is_symlink() and p.is_file():
                p.unlink()
        _make_links(ws, outside)
    assert refused >= 7 * len(escaping)
    assert _tree(outside) == outside_before, "something outside the workspace changed"
    assert {p.name for p in tmp_path.iterdir()} == around_before
    for place in (Path("/tmp"), tmp_path.parent, Path.home()):
        assert not list(place.glob(f"**/{marker}*")) if place != Path("/tmp") else not list(place.glob(f"{marker}*"))
    assert not Path("/etc", marker).exists()


def test_url_encoded_traversal_is_decoded_once_and_refused(setup):
    ws, outside, client = setup
    for raw in (
        "%2e%2e",
        "%2e%2e%2f%2e%2e",
        "..%2f..%2fetc%2fpasswd",
        "%2E%2E/%2E%2E/outside",
        "datasets%2f..%2f..%2foutside",
    ):
        resp = client.get(f"/api/files?path={raw}")
        assert resp.status_code == 400, raw
        assert "outside" in resp.json()["detail"]
        resp = client.get(f"/api/files/download?path={raw}%2foutside%2fsecret.txt")
        assert resp.status_code in (400, 404) and SENTINEL not in resp.content


def test_hostile_trash_item_ids_are_refused_with_a_message(setup, tmp_path):
    ws, outside, client = setup
    real = _trash_item(ws, client)
    outside_before = _tree(outside)
    ids = [
        "%00",
        "a%00b",
        real + "%00",
        "%2e%2e",
        "%2e",
        ".hidden",
        "..%2f..%2foutside",
        "x" * 300,
        "a%5cb",
        "%20",
        real[:-1],
        real + "x",
        "%2e%2e%2f" + real,
    ]
    for raw in ids:
        for resp in (
            client.post(f"/api/files/trash/{raw}/restore"),
            client.post(f"/api/files/trash/{raw}/restore", json={"to": "datasets/restored.txt"}),
        ):
            assert 400 <= resp.status_code < 500, (raw, resp.status_code, resp.text)
            assert "trash item" in resp.json()["detail"] or resp.status_code in (404, 405), (raw, resp.text)
    assert [t["id"] for t in client.get("/api/files/trash").json()] == [real]
    assert _tree(outside) == outside_before

"""Hostile zips × every import path (kit.archive, TagPilot's zip upload API, `lorapilot dataset import`):
a file/folder clash, an over-long path, a member whose data expands beyond its declared size, a NUL
in a raw central-directory name. Each is refused with an error naming the member, nothing is staged
or imported, and nothing is truncated."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
import zlib

import pytest

from lorapilot.kit.archive import UnsafeArchiveError, check_zip, extract_zip
from support.api import make_client
from support.tagpilot import wait_task
from support.workspaces import make_workspace


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return bytearray(buffer.getvalue())


def clash() -> tuple[bytes, str]:
    return bytes(_zip({"ok.png": _png(), "a.png": _png(), "a.png/b.png": _png()})), "a.png"


def over_long() -> tuple[bytes, str]:
    return bytes(_zip({"ok.png": _png(), "d/" * 600 + "x.png": _png()})), "path is longer"


def expands_beyond_declared() -> tuple[bytes, str]:
    """A member declaring 512 KiB (with the CRC of those bytes) whose deflate stream holds 8 MiB."""
    declared = 512 * 1024
    data = b"\0" * (8 * 1024 * 1024)
    blob = _zip({"ok.png": _png(), "big.png": data})
    crc = zlib.crc32(data[:declared]).to_bytes(4, "little")
    size = declared.to_bytes(4, "little")
    name = b"big.png"
    local = blob.rindex(b"PK\x03\x04", 0, blob.index(name))
    blob[local + 14 : local + 18], blob[local + 22 : local + 26] = crc, size
    central = blob.rindex(b"PK\x01\x02", 0, blob.rindex(name))
    blob[central + 16 : central + 20], blob[central + 24 : central + 28] = crc, size
    with zipfile.ZipFile(io.BytesIO(bytes(blob))) as zf:  # zipfile alone would import it cut short
        assert len(zf.read("big.png")) == declared
    return bytes(blob), "expands beyond its declared size"


def nul_in_name() -> tuple[bytes, str]:
    blob = _zip({"ok.png": _png(), "evil.png#.txt": b"caption"})
    return bytes(blob).replace(b"evil.png#.txt", b"evil.png\x00.txt"), "NUL"


HOSTILE = {"clash": clash, "over_long": over_long, "expands": expands_beyond_declared, "nul": nul_in_name}


@pytest.mark.parametrize("kind", HOSTILE)
def test_kit_refuses_and_stages_nothing(tmp_path, kind):
    blob, reason = HOSTILE[kind]()
    path = tmp_path / "hostile.zip"
    path.write_bytes(blob)
    dest = tmp_path / "out" / "dest"
    with pytest.raises(UnsafeArchiveError, match="member") as err:
        extract_zip(path, dest)
    assert reason in str(err.value)
    assert "partial" not in str(err.value)  # never an internal staging path
    assert not dest.exists()
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []  # no staging folder left behind
    if kind != "expands":  # caught from the central directory alone, before any staging
        with pytest.raises(UnsafeArchiveError):
            check_zip(path)


@pytest.mark.parametrize("kind", HOSTILE)
def test_the_zip_upload_api_refuses_them(tmp_path, kind):
    ctx = make_workspace(tmp_path / "ws", enabled=set())
    client = make_client(ctx)
    assert client.post("/api/tagpilot/datasets", json={"name": "ds"}).status_code == 201
    blob, reason = HOSTILE[kind]()
    resp = client.post("/api/tagpilot/datasets/ds/import/zip", content=blob)
    if resp.status_code == 202:  # refused in the task (the data must be decompressed to see it)
        task = wait_task(client, resp.json())
        assert task["state"] == "failed", task
        assert reason in task["error"] and "partial" not in task["error"]
    else:
        assert resp.status_code == 400, resp.text
        assert reason in resp.json()["detail"]
    folder = ctx.workspace.datasets / "ds"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == []
    assert list((folder / ".tagpilot").glob("import-*")) == []  # no staging folder left behind


@pytest.mark.parametrize("kind", HOSTILE)
def test_the_cli_import_refuses_them(tmp_path, kind):
    ctx = make_workspace(tmp_path / "ws", enabled=set())
    blob, reason = HOSTILE[kind]()
    path = tmp_path / "hostile.zip"
    path.write_bytes(blob)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lorapilot",
            "dataset",
            "import",
            "ds",
            str(path),
            "--create",
            "--workspace",
            str(ctx.workspace.root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert reason in result.stderr and "Traceback" not in result.stderr, result.stderr
    folder = ctx.workspace.datasets / "ds"
    assert not [p for p in folder.iterdir() if not p.name.startswith(".")]

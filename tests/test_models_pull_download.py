"""Pulls from a loopback server: resume, checksums, HTML pages, type placement, full disks."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lorapilot.kit.errors import LorapilotError
from lorapilot.tools.models.download import ChecksumError, DiskFullError, DownloadError, download_file
from lorapilot.tools.models.pull import pull
from lorapilot.tools.models.store import ModelStore
from support import model_files as mf
from support.model_server import ModelServer
from support.workspaces import make_workspace


@pytest.fixture
def server():
    srv = ModelServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def store(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    return ModelStore.for_context(ctx)


def _lora_bytes(tmp_path, rank=64) -> bytes:
    # rank 64 at SD1 width: ~200 KB of tensors, enough to cut in the middle.
    return mf.write_model(tmp_path / "src.safetensors", mf.kohya_lora_sd1(rank=rank), mf.LORA_METADATA).read_bytes()


def test_direct_url_is_placed_by_detected_type(server, store, tmp_path):
    data = _lora_bytes(tmp_path)
    url = server.add("/files/pixel.safetensors", data)
    result = pull(store, url)
    dest = store.ws.models / "loras" / "pixel.safetensors"
    assert result.placed == [str(dest)] and dest.read_bytes() == data
    assert not list((store.ws.models / ".incoming").iterdir())
    # Pulled again: the sha256 is known now, so nothing is downloaded twice.
    assert pull(store, url).existing == [str(dest)]


def test_type_flag_wins_over_detection(server, store, tmp_path):
    url = server.add("/files/pixel.safetensors", _lora_bytes(tmp_path))
    pull(store, url, folder="checkpoints")
    assert (store.ws.models / "checkpoints" / "pixel.safetensors").exists()


def test_connection_cut_at_half_resumes_to_an_identical_file(server, store, tmp_path):
    data = _lora_bytes(tmp_path)
    url = server.add("/files/cut.safetensors", data, cut_after=len(data) // 2, cuts_left=1, etag='"v1"')
    result = pull(store, url)
    assert Path(result.placed[0]).read_bytes() == data
    assert server.range_requests("/files/cut.safetensors") == [f"bytes={len(data) // 2}-"]


def test_killed_pull_resumes_on_the_next_run(server, store, tmp_path):
    data = _lora_bytes(tmp_path, rank=256)  # ~800 KB, served at 400 KB/s
    url = server.add("/files/slow.safetensors", data, bytes_per_s=400_000, etag='"v1"')
    cmd = [sys.executable, "-m", "lorapilot", "models", "pull", url, "-w", str(store.ws.root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    part = store.ws.models / ".incoming" / "slow.safetensors.part"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not part.exists() or part.stat().st_size < len(data) // 2):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = part.stat().st_size
    assert len(data) // 2 <= kept < len(data)
    server.files["/files/slow.safetensors"].bytes_per_s = None
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    dest = store.ws.models / "loras" / "slow.safetensors"
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert server.range_requests("/files/slow.safetensors") == [f"bytes={kept}-"]
    assert not part.exists()


def test_html_instead_of_a_model_is_refused(server, store):
    page = b"\n  <!DOCTYPE html><html><body>Sign in</body></html>"
    url = server.add("/files/model.safetensors", page, content_type="application/octet-stream")
    with pytest.raises(DownloadError, match="HTML page instead of a model"):
        pull(store, url)
    url = server.add("/files/typed.safetensors", b"<html>", content_type="text/html; charset=utf-8")
    with pytest.raises(DownloadError, match="HTML page"):
        pull(store, url)
    assert not (store.ws.models / "loras" / "model.safetensors").exists()
    assert not list((store.ws.models / ".incoming").glob("*.part"))


def test_checksum_mismatch_places_nothing(server, store, tmp_path):
    data = _lora_bytes(tmp_path)
    url = server.add("/files/x.safetensors", data)
    part = tmp_path / "staging" / "x.safetensors.part"
    with pytest.raises(ChecksumError, match="does not match"):
        download_file(url, part, expected_sha256="0" * 64)
    assert not part.exists()
    got = download_file(url, part, expected_sha256=hashlib.sha256(data).hexdigest())
    assert got.path.read_bytes() == data


def test_not_a_model_file_is_removed(server, store):
    url = server.add("/files/junk.safetensors", b"\xff" * 5000)
    with pytest.raises(LorapilotError, match="not a valid safetensors file"):
        pull(store, url)
    assert not list((store.ws.models / ".incoming").glob("*.part"))


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MiB tmpfs (needs root or CAP_SYS_ADMIN)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("send_length", [True, False], ids=["size-known", "size-unknown"])
def test_full_disk_keeps_existing_files_intact(server, small_disk, tmp_path, send_length):
    ctx = make_workspace(small_disk / "ws")
    store = ModelStore.for_context(ctx)
    keep = mf.write_model(store.ws.models / "loras" / "keep.safetensors", mf.kohya_lora_sd1(rank=32))
    keep_sha = hashlib.sha256(keep.read_bytes()).hexdigest()
    big = os.urandom(3 * 1024 * 1024)
    url = server.add("/files/big.safetensors", big, send_length=send_length)
    with pytest.raises(DiskFullError) as info:
        pull(store, url)
    assert ("not enough free space" if send_length else "disk full") in str(info.value)
    assert hashlib.sha256(keep.read_bytes()).hexdigest() == keep_sha
    assert not (store.ws.models / "loras" / "big.safetensors").exists()
    assert not list((store.ws.models / ".incoming").glob("*.part"))
    # The disk is usable again: a small pull still works.
    small = _lora_bytes(tmp_path, rank=4)
    assert pull(store, server.add("/files/small.safetensors", small)).placed


def test_a_second_pull_of_the_same_file_is_refused_while_the_first_runs(server, store, tmp_path):
    """Two pulls of one file at once (a double click) must not write the same .part: the second is refused."""
    import threading

    data = _lora_bytes(tmp_path, rank=256)
    url = server.add("/files/twice.safetensors", data, bytes_per_s=1_000_000)
    part = store.ws.models / ".incoming" / "twice.safetensors.part"
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(result=pull(store, url)))
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (part.exists() and part.stat().st_size > 0):
        time.sleep(0.01)
    with pytest.raises(DownloadError, match="twice.safetensors is being downloaded by another pull right now"):
        pull(store, url)
    thread.join(30)
    assert (store.ws.models / "loras" / "twice.safetensors").read_bytes() == data
    assert first["result"].placed and not list((store.ws.models / ".incoming").iterdir())


def test_a_download_is_hashed_as_it_arrives_not_read_again(server, tmp_path, monkeypatch):
    from lorapilot.tools.models.hashing import StreamingSha256

    read_back = []
    real_feed = StreamingSha256.feed_file

    def feed(self, path, cancel=None):
        read_back.append(path.stat().st_size)
        return real_feed(self, path, cancel)

    monkeypatch.setattr(StreamingSha256, "feed_file", feed)
    data = _lora_bytes(tmp_path)
    sha = hashlib.sha256(data).hexdigest()
    url = server.add("/files/cut.safetensors", data, cut_after=len(data) // 2, cuts_left=1, etag='"v1"')
    got = download_file(url, tmp_path / "a" / "cut.safetensors.part", expected_sha256=sha)
    assert got.sha256 == sha and read_back == []  # resumed after the cut within the same call: nothing read back

    part = tmp_path / "b" / "cut.safetensors.part"  # what an earlier, killed run left
    part.parent.mkdir()
    part.write_bytes(data[:1000])
    got = download_file(url, part, expected_sha256=sha)
    assert got.sha256 == sha and got.resumed_from == 1000 and read_back == [1000]  # only the kept bytes, once

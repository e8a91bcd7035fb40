"""Hashes (sha256, AutoV2, addnet) are right, streamed, and cached by path+size+mtime."""

import hashlib
import os
import tracemalloc

from lorapilot.tools.models import store as store_module
from lorapilot.tools.models.hashing import hash_file
from lorapilot.tools.models.safetensors_header import read_header
from lorapilot.tools.models.store import ModelStore
from support import model_files as mf
from support.workspaces import make_workspace


def test_hashes_match_hashlib(tmp_path):
    path = mf.write_model(tmp_path / "l.safetensors", mf.kohya_lora_sd1(), mf.LORA_METADATA)
    raw = path.read_bytes()
    offset = read_header(path).data_offset
    hashes = hash_file(path, addnet_offset=offset, chunk_bytes=1000)  # chunks straddle the header end
    assert hashes.sha256 == hashlib.sha256(raw).hexdigest()
    assert hashes.autov2 == hashes.sha256[:10]
    assert hashes.addnet == hashlib.sha256(raw[offset:]).hexdigest()


def test_addnet_ignores_metadata_edits(tmp_path):
    a = mf.write_model(tmp_path / "a.safetensors", mf.kohya_lora_sd1(), {"ss_output_name": "a"})
    b = mf.write_model(tmp_path / "b.safetensors", mf.kohya_lora_sd1(), {"ss_output_name": "something else"})
    ha = hash_file(a, read_header(a).data_offset)
    hb = hash_file(b, read_header(b).data_offset)
    assert ha.sha256 != hb.sha256 and ha.addnet == hb.addnet


def test_hashing_memory_is_bounded(tmp_path):
    path = tmp_path / "big.bin"
    with path.open("wb") as fh:
        for _ in range(64):
            fh.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    hashes = hash_file(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert hashes.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert peak < 12 * 1024 * 1024  # one 4 MiB buffer, not the 64 MiB file


def test_second_listing_reads_no_header_and_hashes_nothing(tmp_path, monkeypatch):
    ctx = make_workspace(tmp_path / "ws")
    loras = ctx.workspace.models / "loras"
    for i in range(5):
        mf.write_model(loras / f"l{i}.safetensors", mf.kohya_lora_sd1(), seed=i)
    first = ModelStore.for_context(ctx).list(with_hashes=True)
    assert all(e.sha256 and e.addnet for e in first)

    def forbidden(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(store_module, "summarize", forbidden)
    monkeypatch.setattr(store_module, "hash_file", forbidden)
    second = ModelStore.for_context(ctx).list(with_hashes=True)  # a new store: the cache is on disk
    assert [(e.path, e.sha256, e.addnet, e.kind, e.rank) for e in second] == [
        (e.path, e.sha256, e.addnet, e.kind, e.rank) for e in first
    ]


def test_changed_file_is_hashed_again(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    path = mf.write_model(ctx.workspace.models / "loras" / "l.safetensors", mf.kohya_lora_sd1(rank=4))
    store = ModelStore.for_context(ctx)
    before = store.hash(path)["sha256"]
    mf.write_model(path, mf.kohya_lora_sd1(rank=8), seed=3)
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    entry = store.list(with_hashes=True)[0]
    assert entry.rank == 8
    assert entry.sha256 != before and entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()

"""Broken safetensors files give a clear error naming the file; nothing crashes."""

import struct
import subprocess
import sys

import pytest

from lorapilot.tools.models.safetensors_header import SafetensorsError, read_header
from lorapilot.tools.models.store import ModelStore
from support import model_files as mf
from support.workspaces import make_workspace


def _good(tmp_path):
    return mf.write_model(tmp_path / "good.safetensors", mf.kohya_lora_sd1())


def make_truncated(tmp_path):
    good = _good(tmp_path).read_bytes()
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(good[:-100])
    return path


def make_tiny(tmp_path):
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(b"\x01\x02\x03")
    return path


def make_long_header(tmp_path):
    return mf.raw_safetensors(
        tmp_path / "long.safetensors",
        {"a": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}},
        b"\0\0",
        declared_length=10_000,
    )


def make_not_json(tmp_path):
    path = tmp_path / "notjson.safetensors"
    body = b"{this is not json"
    path.write_bytes(struct.pack("<Q", len(body)) + body)
    return path


def make_huge_header(tmp_path):
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 200 * 1024 * 1024) + b"{}")
    return path


def make_shape_mismatch(tmp_path):
    return mf.raw_safetensors(
        tmp_path / "shape.safetensors", {"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 32]}}, b"\0" * 32
    )


def make_unknown_dtype(tmp_path):
    return mf.raw_safetensors(
        tmp_path / "dtype.safetensors", {"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}}, b"\0\0"
    )


def make_overlap(tmp_path):
    return mf.raw_safetensors(
        tmp_path / "overlap.safetensors",
        {
            "a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
            "b": {"dtype": "F16", "shape": [2], "data_offsets": [2, 6]},
        },
        b"\0" * 6,
    )


def make_bad_metadata(tmp_path):
    return mf.raw_safetensors(tmp_path / "meta.safetensors", {"__metadata__": {"ss_steps": 100}})


BAD = [
    (make_truncated, "truncated"),
    (make_tiny, "too short for the 8-byte header length"),
    (make_long_header, "larger than the file"),
    (make_not_json, "not valid JSON"),
    (make_huge_header, "exceeds the 100 MB limit"),
    (make_shape_mismatch, "need 64 bytes but data_offsets [0, 32] span 32"),
    (make_unknown_dtype, "unknown dtype 'Q4'"),
    (make_overlap, "overlaps"),
    (make_bad_metadata, "__metadata__['ss_steps'] must be a string"),
]


@pytest.mark.parametrize("make,message", BAD, ids=[m.__name__ for m, _ in BAD])
def test_reader_names_the_file_and_the_problem(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(SafetensorsError) as info:
        read_header(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize("make,message", BAD[:5], ids=[m.__name__ for m, _ in BAD[:5]])
def test_cli_inspect_prints_one_clear_line_without_traceback(tmp_path, make, message):
    path = make(tmp_path)
    ctx = make_workspace(tmp_path / "ws")
    proc = subprocess.run(
        [sys.executable, "-m", "lorapilot", "models", "inspect", str(path), "-w", str(ctx.workspace.root)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and message in proc.stderr


def test_listing_shows_broken_files_with_their_error(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    loras = ctx.workspace.models / "loras"
    loras.mkdir(parents=True)
    mf.write_model(loras / "fine.safetensors", mf.kohya_lora_sd1())
    expected = {}
    for make, message in BAD:
        path = make(tmp_path)
        path.rename(loras / path.name)
        expected[path.name] = message
    entries = {e.name: e for e in ModelStore.for_context(ctx).list()}
    assert entries["fine.safetensors"].error is None and entries["fine.safetensors"].kind == "lora"
    for name, message in expected.items():
        assert message in entries[name].error

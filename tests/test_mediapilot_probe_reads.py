"""The indexer reads a file's headers and metadata chunks, never the pixel data of a big file."""

from __future__ import annotations

import os
import random

from PIL import Image, PngImagePlugin

from lorapilot.tools.mediapilot.meta.chunks import HEAD_BYTES
from lorapilot.tools.mediapilot.probe import probe_file
from support import media_files as mf

PARAMS = "a cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 5, Size: 320x240, Model: m1"


def _noise(size=(320, 240)) -> Image.Image:
    """Pixels that do not compress: the PNG is ~230 KB, almost all of it IDAT."""
    return Image.frombytes("RGB", size, random.Random(3).randbytes(size[0] * size[1] * 3))


def _bytes_read(monkeypatch) -> list[int]:
    counts: list[int] = []
    real_read, real_pread = os.read, os.pread

    def read(fd, n):
        data = real_read(fd, n)
        counts.append(len(data))
        return data

    def pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        counts.append(len(data))
        return data

    monkeypatch.setattr(os, "read", read)
    monkeypatch.setattr(os, "pread", pread)
    return counts


def test_a_big_png_is_probed_without_reading_its_pixels(tmp_path, monkeypatch):
    before = tmp_path / "before.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", PARAMS)
    _noise().save(before, "PNG", pnginfo=info)
    # The same image with the text after the pixel data, where some tools put it.
    _noise().save(tmp_path / "plain.png", "PNG")
    data = (tmp_path / "plain.png").read_bytes()
    iend = data.rindex(b"IEND") - 4
    after = tmp_path / "after.png"
    after.write_bytes(data[:iend] + mf.png_chunk(b"tEXt", b"parameters\0" + PARAMS.encode()) + data[iend:])
    assert after.stat().st_size > 3 * HEAD_BYTES

    for path in (before, after):
        counts = _bytes_read(monkeypatch)
        probe = probe_file(path)
        monkeypatch.undo()
        assert (probe.format, probe.width, probe.height, probe.errors) == ("png", 320, 240, [])
        assert probe.texts == {"parameters": PARAMS}
        assert sum(counts) < HEAD_BYTES + 4096, f"{path.name}: read {sum(counts)} of {path.stat().st_size} bytes"


def test_a_small_file_is_read_in_one_call(tmp_path, monkeypatch):
    path = mf.png(tmp_path / "small.png", texts={"parameters": PARAMS})
    counts = _bytes_read(monkeypatch)
    probe = probe_file(path, path.stat().st_size)
    monkeypatch.undo()
    assert probe.texts == {"parameters": PARAMS}
    assert counts == [path.stat().st_size]

"""Bad files never crash or hang the indexer: each is indexed with an error flag or without metadata."""

from __future__ import annotations

import json
import shutil

import pytest

from lorapilot.tools.mediapilot.meta.a1111 import parse_parameters
from lorapilot.tools.mediapilot.meta.chunks import MAX_CHUNK_BYTES
from lorapilot.tools.mediapilot.meta.model import MAX_PROMPT_CHARS
from support import media_files as mf
from support.media_lib import make_library, row_by_name

PARAMS = "a cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 5, Size: 64x48, Model: m1"


@pytest.fixture
def lib_out(tmp_path):
    ctx, lib = make_library(tmp_path)
    yield lib, ctx.workspace.outputs
    lib.close()


def _scan_one(lib, path):
    report = lib.scan()
    assert report.added == 1
    return row_by_name(lib, path.name)


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp"])
def test_truncated_images(lib_out, kind):
    lib, out = lib_out
    if kind == "png":
        path = mf.png(out / "t.png", texts={"parameters": PARAMS})
    elif kind == "jpeg":
        path = mf.jpeg(out / "t.jpg", mf.user_comment(PARAMS, "unicode-be"))
    else:
        path = mf.webp(out / "t.webp", mf.user_comment(PARAMS, "unicode-be"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    row = _scan_one(lib, path)
    assert row["error"] and "truncated" in row["error"]
    assert row["width"] == 64  # the header was still readable


def test_truncated_in_the_header(lib_out):
    lib, out = lib_out
    path = mf.png(out / "h.png", texts={"parameters": PARAMS})
    path.write_bytes(path.read_bytes()[:20])
    row = _scan_one(lib, path)
    assert "truncated" in row["error"] and row["source"] is None


def test_zero_byte_file(lib_out):
    lib, out = lib_out
    (out / "empty.png").write_bytes(b"")
    row = _scan_one(lib, out / "empty.png")
    assert row["error"] == "empty file (0 bytes)"
    assert (row["format"], row["width"], row["source"]) == ("png", None, None)


def test_jpeg_named_png(lib_out):
    lib, out = lib_out
    path = mf.jpeg(out / "liar.png", mf.user_comment(PARAMS, "unicode-be"))
    row = _scan_one(lib, path)
    assert row["format"] == "jpeg"
    assert row["error"] == "content is JPEG but the name says .png"
    assert (row["source"], row["seed"]) == ("a1111", "5")  # metadata still read from the real format


def test_invalid_utf8_in_text_chunks(lib_out):
    lib, out = lib_out
    path = mf.png_raw_itxt(out / "bad.png", "parameters", b"caf\xe9 \xff\xfe\nSteps: 20, Sampler: Euler, CFG scale: 7")
    row = _scan_one(lib, path)
    assert "invalid utf-8" in row["error"]
    assert row["positive"] == "caf\ufffd \ufffd\ufffd"
    assert row["steps"] == 20
    # tEXt is latin-1 by the spec: bytes that are not UTF-8 are read as latin-1, not flagged.
    path2 = mf.png_text_after_idat(out / "latin.png", "parameters", "x")
    data = path2.read_bytes().replace(b"parameters\0x", b"parameters\0\xe9")
    path2.write_bytes(data)
    assert lib.scan().added == 1
    assert row_by_name(lib, "latin.png")["positive"] == "é"


def test_ten_megabyte_prompt_is_capped(lib_out):
    lib, out = lib_out
    terms = ", ".join(f"tag{i}" for i in range(1_100_000))  # ~10 MB, a million comma-separated terms
    assert len(terms) > 10_000_000
    text = terms + " <lora:a:1>" * 10 + "\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1"
    path = mf.png_text_after_idat(out / "huge.png", "parameters", text, kind=b"zTXt")
    row = _scan_one(lib, path)
    assert f"capped at {MAX_CHUNK_BYTES}" in row["error"]
    assert len(row["positive"]) == MAX_PROMPT_CHARS
    raw = lib.raw_chunks(row["id"])
    assert len(raw["parameters"]) <= MAX_CHUNK_BYTES
    assert lib.index.read().execute("SELECT count(*) FROM media_tag").fetchone()[0] == 0  # no tags from prompts


def test_huge_prompt_does_not_explode_loras():
    text = " ".join(f"<lora:l{i}:0.5>" for i in range(5000)) + "\nSteps: 1, Sampler: a, CFG scale: 1"
    info = parse_parameters(text)
    assert len(info.loras) == 64
    assert "too many LoRAs" in info.warnings


def test_cyclic_and_dangling_comfy_links_are_flagged(lib_out):
    lib, out = lib_out
    graph = {
        "1": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 1,
                "steps": 2,
                "cfg": 3,
                "sampler_name": "euler",
                "scheduler": "normal",
                "model": ["2", 0],
                "positive": ["3", 0],
                "negative": ["404", 0],
                "latent_image": ["1", 0],
            },
        },
        "2": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": "l.safetensors",
                "strength_model": 1,
                "strength_clip": 1,
                "model": ["2", 0],
                "clip": ["2", 1],
            },
        },
        "3": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["3", 0], "conditioning_2": ["3", 0]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
    }
    path = mf.png(out / "cyc.png", texts={"prompt": json.dumps(graph)})
    row = _scan_one(lib, path)
    assert row["source"] == "comfyui" and row["seed"] == "1"
    assert "cycle through node" in row["error"] and "dangling link to node 404" in row["error"]


@pytest.mark.parametrize("name", ["fake.mp4", "fake.webm"])
def test_non_video_named_as_video(lib_out, name):
    lib, out = lib_out
    path = out / name
    path.write_text("this is a text file, not a video\n" * 10)
    row = _scan_one(lib, path)
    assert row["kind"] == "video"
    assert row["error"].startswith("not a ")
    mf.png(out / "png.mp4")
    assert lib.scan().added == 1
    assert row_by_name(lib, "png.mp4")["error"] == "content is PNG but the name says .mp4"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm"])
def test_real_videos(lib_out, name):
    lib, out = lib_out
    path = mf.video(out / name, seconds=1.5, size=(96, 64), comment="a test clip")
    row = _scan_one(lib, path)
    assert row["error"] is None
    assert (row["kind"], row["width"], row["height"]) == ("video", 96, 64)
    assert abs(row["duration"] - 1.5) < 0.1
    assert lib.raw_chunks(row["id"])["comment"] == "a test clip"


def test_max_seed_is_stored_exactly(lib_out):
    lib, out = lib_out
    mf.png(out / "s.png", texts={"parameters": PARAMS.replace("Seed: 5", f"Seed: {2**64 - 1}")})
    row = _scan_one(lib, out / "s.png")
    assert row["seed"] == "18446744073709551615"
    assert lib.detail(row["id"])["seed"] == "18446744073709551615"


def test_names_that_are_not_utf8_are_skipped_and_named(lib_out):
    """Linux allows any bytes in a name; SQLite TEXT cannot hold them: such files and folders are left out,
    each named in the report, and the scan (and a watcher re-check) goes on with the rest."""
    import os

    lib, out = lib_out
    mf.png(out / "good.png", texts={"parameters": PARAMS})
    raw_out = os.fsencode(out)
    with open(os.path.join(raw_out, b"bad\xff.png"), "wb") as fh:
        fh.write((out / "good.png").read_bytes())
    os.mkdir(os.path.join(raw_out, b"dir\xfe"))
    with open(os.path.join(raw_out, b"dir\xfe", b"inside.png"), "wb") as fh:
        fh.write((out / "good.png").read_bytes())

    report = lib.scan()
    assert (report.added, lib.index.count()) == (1, 1)
    assert sorted(report.errors) == [
        f"{out}/bad\\xff.png: skipped, its name is not valid UTF-8",
        f"{out}/dir\\xfe: skipped, its name is not valid UTF-8",
    ]
    assert lib.reindex([os.fsdecode(os.path.join(raw_out, b"bad\xff.png"))]).seen == 0
    assert lib.scan().unchanged == 1


@pytest.mark.parametrize("kind", [b"tEXt", b"zTXt", b"iTXt"])
def test_megabytes_long_prompt_keeps_its_negative_prompt_and_settings(lib_out, kind):
    """The chunk past the cap keeps its head and its end: the negative prompt and the settings line that
    A1111 writes after a 4 MB prompt survive; the prompt is cut (a multi-byte character at the cut too)."""
    lib, out = lib_out
    prompt = "桜の木, " + ", ".join(f"tag{i}" for i in range(500_000)) + ", 東京の夜"
    assert len(prompt.encode()) > 4 * MAX_CHUNK_BYTES // 2
    text = (
        prompt + " <lora:detail:0.6>\nNegative prompt: blurry, lowres\nSteps: 31, Sampler: DPM++ 2M, "
        'CFG scale: 6.5, Seed: 4242, Size: 832x1216, Model: juggernautXL, Lora hashes: "detail: 1f2e"'
    )
    path = mf.png_text_after_idat(out / f"long-{kind.decode()}.png", "parameters", text, kind=kind)
    row = _scan_one(lib, path)
    assert row["negative"] == "blurry, lowres"
    assert (row["steps"], row["cfg"], row["seed"], row["model"]) == (31, 6.5, "4242", "juggernautXL")
    assert (row["gen_width"], row["gen_height"]) == (832, 1216)
    assert row["positive"].startswith("桜の木, tag0, tag1") and len(row["positive"]) == MAX_PROMPT_CHARS
    assert "\ufffd" not in row["positive"]
    assert f"capped at {MAX_CHUNK_BYTES}" in row["error"]
    assert len(lib.raw_chunks(row["id"])["parameters"].encode()) <= MAX_CHUNK_BYTES


def test_head_and_tail_cut_on_character_boundaries():
    """A cut inside a multi-byte character drops its pieces on both sides, so the text still decodes."""
    from lorapilot.tools.mediapilot.meta.chunks import head_and_tail

    data = "桜の木".encode() * 3  # 3-byte characters
    for head_end in range(1, 12):
        for tail_start in range(len(data) - 12, len(data) - 1):
            text = head_and_tail(data[:head_end], data[tail_start:]).decode("utf-8")  # never raises
            head, _, tail = text.partition("\n")
            assert "桜の木桜の木桜の木".startswith(head) and "桜の木桜の木桜の木".endswith(tail)
    assert head_and_tail(b"ab\xf0\x9f", b"\x98\x80cd") == b"ab\ncd"  # a 4-byte emoji cut in two

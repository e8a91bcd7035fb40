"""A1111/Forge ``parameters`` read from every place generators put it, field by field."""

from __future__ import annotations

import pytest

from lorapilot.tools.mediapilot.meta import extract
from lorapilot.tools.mediapilot.probe import probe_file
from support import media_files as mf

PARAMS = (
    "masterpiece, castle on a hill, <lora:my_style_v2:0.8>, <lora:detail tweaker:-0.5>, <lora:add_detail>\n"
    "Negative prompt: lowres, bad hands,\nblurry\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 18446744073709551615, "
    "Size: 832x1216, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Denoising strength: 0.45, "
    'Hires prompt: "a castle, at night: stars", '
    'Lora hashes: "my_style_v2: 7c6bad76eb54, detail tweaker: 0123456789ab", Version: v1.10.1'
)


def _parse(path):
    probe = probe_file(path)
    assert probe.errors == []
    info, problems = extract(probe.texts, path.name)
    assert problems == []
    return info


def check_fields(info, source="a1111"):
    assert info.source == source
    assert info.positive == (
        "masterpiece, castle on a hill, <lora:my_style_v2:0.8>, <lora:detail tweaker:-0.5>, <lora:add_detail>"
    )
    assert info.negative == "lowres, bad hands,\nblurry"
    assert info.steps == 28
    assert info.sampler == "DPM++ 2M"
    assert info.scheduler == "Karras"
    assert info.cfg == 6.5
    assert info.seed == 2**64 - 1
    assert (info.width, info.height) == (832, 1216)
    assert info.model == "sd_xl_base_1.0"
    assert info.model_hash == "31e35c80fc"
    assert info.denoise == 0.45
    assert info.extra["Hires prompt"] == "a castle, at night: stars"  # quoted value, commas and colon kept
    assert [(l.name, l.weight, l.hash) for l in info.loras] == [
        ("my_style_v2", 0.8, "7c6bad76eb54"),
        ("detail tweaker", -0.5, "0123456789ab"),  # space kept, negative weight
        ("add_detail", 1.0, None),  # underscore kept, default weight
    ]


@pytest.mark.parametrize("where", ["tEXt", "zTXt", "iTXt"])
def test_png_text_chunk_kinds(tmp_path, where):
    path = tmp_path / "a.png"
    if where == "tEXt":
        mf.png(path, texts={"parameters": PARAMS})
        assert b"tEXtparameters" in path.read_bytes()
    elif where == "zTXt":
        mf.png(path, ztxt={"parameters": PARAMS})
        assert b"zTXtparameters" in path.read_bytes()
    else:
        mf.png(path, itxt={"parameters": PARAMS})
        assert b"iTXtparameters" in path.read_bytes()
    check_fields(_parse(path))


@pytest.mark.parametrize("kind", [b"tEXt", b"zTXt", b"iTXt"])
def test_png_chunk_after_image_data(tmp_path, kind):
    path = mf.png_text_after_idat(tmp_path / "late.png", "parameters", PARAMS, kind=kind)
    data = path.read_bytes()
    assert data.index(b"IDAT") < data.index(kind + b"parameters")
    check_fields(_parse(path))


def test_png_non_latin_text_goes_through_itxt(tmp_path):
    text = PARAMS.replace("castle on a hill", "城 на холме")
    path = mf.png(tmp_path / "u.png", texts={"parameters": text})
    assert b"iTXtparameters" in path.read_bytes()  # Pillow switches to iTXt for non-latin-1 text
    info = _parse(path)
    assert info.positive.startswith("masterpiece, 城 на холме, ")


@pytest.mark.parametrize(
    "encoding,big_endian_tiff",
    [
        ("unicode-be", False),  # A1111 (piexif): UTF-16 BE inside a little-endian TIFF
        ("unicode-le", False),
        ("unicode-le", True),
        ("unicode-be", True),
        ("ascii", False),
    ],
)
def test_jpeg_exif_user_comment(tmp_path, encoding, big_endian_tiff):
    path = mf.jpeg(tmp_path / "a.jpg", mf.user_comment(PARAMS, encoding), big_endian=big_endian_tiff)
    assert _parse(path).positive.startswith("masterpiece")
    check_fields(_parse(path))


@pytest.mark.parametrize("encoding", ["unicode-be", "unicode-le", "ascii"])
def test_webp_exif_user_comment(tmp_path, encoding):
    path = mf.webp(tmp_path / "a.webp", mf.user_comment(PARAMS, encoding))
    check_fields(_parse(path))


def test_unicode_prompt_in_user_comment(tmp_path):
    text = "ein Schloß, 城\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: m"
    for encoding in ("unicode-be", "unicode-le"):
        info = _parse(mf.jpeg(tmp_path / f"{encoding}.jpg", mf.user_comment(text, encoding)))
        assert info.positive == "ein Schloß, 城"
        assert info.sampler == "Euler a"
        assert info.seed == 42


def test_forge_is_told_apart(tmp_path):
    text = PARAMS.replace("Version: v1.10.1", "Version: f2.0.1v1.10.1-previous-313-g8a042934")
    check_fields(_parse(mf.png(tmp_path / "f.png", texts={"parameters": text})), source="forge")


def test_lora_weights_two_numbers_and_named():
    from lorapilot.tools.mediapilot.meta.a1111 import parse_parameters

    info = parse_parameters(
        "<lora:a_b:0.7:0.3>, <lora:c.d:te=0.2:unet=0.9>, <lora:e f:-1.25>\nSteps: 1, Sampler: Euler, CFG scale: 1"
    )
    assert [(l.name, l.weight, l.clip_weight) for l in info.loras] == [
        ("a_b", 0.3, 0.7),
        ("c.d", 0.9, 0.2),
        ("e f", -1.25, None),
    ]


def test_prompt_without_settings_line():
    from lorapilot.tools.mediapilot.meta.a1111 import parse_parameters

    info = parse_parameters("just a prompt, with: a colon\nNegative prompt: ugly")
    assert info.positive == "just a prompt, with: a colon"
    assert info.negative == "ugly"
    assert info.steps is None and info.seed is None

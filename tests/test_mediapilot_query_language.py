"""The search language over a real index: every field, AND/OR/NOT, errors, keyset pages and sorting."""

from __future__ import annotations

import json
import os
import time

import pytest

from lorapilot.tools.mediapilot import organise
from lorapilot.tools.mediapilot.query import QueryError, search
from support import media_files as mf
from support.media_lib import make_library, row_by_name


def a1111(prompt, *, steps=20, cfg=7, seed=1, model="m", sampler="Euler", neg="", w=64):
    return (
        f"{prompt}\nNegative prompt: {neg}\nSteps: {steps}, Sampler: {sampler}, CFG scale: {cfg}, "
        f"Seed: {seed}, Size: {w}x48, Model: {model}"
    )


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    ctx, lib = make_library(tmp_path_factory.mktemp("q"))
    out = ctx.workspace.outputs
    mf.png(
        out / "comfy" / "castle.png",
        size=(1024, 768),
        texts={
            "prompt": json.dumps(
                {
                    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "juggernautXL.safetensors"}},
                    "2": {
                        "class_type": "LoraLoader",
                        "inputs": {
                            "lora_name": "detail_tweaker.safetensors",
                            "strength_model": 0.5,
                            "strength_clip": 0.5,
                            "model": ["1", 0],
                            "clip": ["1", 1],
                        },
                    },
                    "3": {
                        "class_type": "CLIPTextEncode",
                        "inputs": {"text": "a stone castle, blue hair knight", "clip": ["2", 1]},
                    },
                    "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["2", 1]}},
                    "5": {
                        "class_type": "KSampler",
                        "inputs": {
                            "seed": 2**64 - 1,
                            "steps": 30,
                            "cfg": 5.5,
                            "sampler_name": "dpmpp_2m",
                            "scheduler": "karras",
                            "model": ["2", 0],
                            "positive": ["3", 0],
                            "negative": ["4", 0],
                            "latent_image": ["6", 0],
                            "denoise": 1,
                        },
                    },
                    "6": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
                    "7": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "castle"}},
                }
            )
        },
    )
    mf.png(
        out / "a1111" / "forest.png",
        texts={
            "parameters": a1111(
                "misty forest, <lora:pixel_art:0.8>", steps=12, cfg=9, seed=42, model="dreamshaper_8", neg="text"
            )
        },
    )
    mf.jpeg(
        out / "a1111" / "cat.jpg",
        mf.user_comment(
            a1111("a cat on a castle wall", steps=25, cfg=6.5, seed=7, model="dreamshaper_8", sampler="Euler a"),
            "unicode-be",
        ),
    )
    mf.png(out / "invoke" / "plain.png")
    mf.png(out / "invoke" / "under_score.png", texts={"parameters": a1111("100% cotton_shirt", seed=5)})
    lib.scan()
    organise.set_favourite(lib, [row_by_name(lib, "forest.png")["id"]])
    organise.tag(lib, [row_by_name(lib, "cat.jpg")["id"], row_by_name(lib, "castle.png")["id"]], add=["Keep"])
    organise.tag(lib, [row_by_name(lib, "plain.png")["id"]], add=["rejected"])
    # Known dates: forest is old, the rest new.
    old = time.mktime((2025, 3, 10, 12, 0, 0, 0, 0, -1))
    os.utime(out / "a1111" / "forest.png", (old, old))
    lib.scan()
    yield lib
    lib.close()


def names(lib, query, **kw):
    return sorted(r["name"] for r in search(lib.index.read(), query, limit=1000, **kw).rows)


@pytest.mark.parametrize(
    "query,expected",
    [
        ("castle", ["castle.png", "cat.jpg"]),
        ('"stone castle"', ["castle.png"]),
        ('"castle stone"', []),
        ("cast*", ["castle.png", "cat.jpg"]),
        ("castle wall", ["cat.jpg"]),
        ("neg:blurry", ["castle.png"]),
        ("blurry", []),  # free text searches the positive prompt only
        ("model:dreamshaper", ["cat.jpg", "forest.png"]),
        ("model=juggernautXL.safetensors", ["castle.png"]),
        ("model=juggernaut", []),
        ("lora:detail", ["castle.png"]),
        ("lora:pixel_art", ["forest.png"]),
        ('lora:"pixel art"', []),  # names are kept exactly: no '_' -> ' '
        ("lora=pixel_art", ["forest.png"]),
        ("sampler:euler", ["cat.jpg", "forest.png", "under_score.png"]),
        ("sampler=euler", ["forest.png", "under_score.png"]),
        ("seed:18446744073709551615", ["castle.png"]),
        ("seed:42", ["forest.png"]),
        ("steps>=25", ["castle.png", "cat.jpg"]),
        ("steps<20", ["forest.png"]),
        ("cfg<7", ["castle.png", "cat.jpg"]),
        ("cfg>=9", ["forest.png"]),
        ("width>=1024", ["castle.png"]),
        ("source:comfyui", ["castle.png"]),
        ("source:a1111", ["cat.jpg", "forest.png", "under_score.png"]),
        ("source:none", ["plain.png"]),
        ("tag:keep", ["castle.png", "cat.jpg"]),
        ("-tag:rejected", ["castle.png", "cat.jpg", "forest.png", "under_score.png"]),
        ("fav:yes", ["forest.png"]),
        ("fav:no source:a1111", ["cat.jpg", "under_score.png"]),
        ("date>=2026-01-01", ["castle.png", "cat.jpg", "plain.png", "under_score.png"]),
        ("date<2026-01-01", ["forest.png"]),
        ("date:2025-03-10", ["forest.png"]),
        ("date:2025-03", ["forest.png"]),
        ("path:a1111/", ["cat.jpg", "forest.png"]),
        ("path:under_", ["under_score.png"]),
        ("path:%", []),  # LIKE wildcards are literal
        ("type:image format:jpeg", ["cat.jpg"]),
        ("has:workflow", []),
        ("has:lora", ["castle.png", "forest.png"]),
        ("castle OR forest", ["castle.png", "cat.jpg", "forest.png"]),
        ("castle AND NOT wall", ["castle.png"]),
        ("(model:dream OR lora:detail) -fav:yes", ["castle.png", "cat.jpg"]),
        ("NOT (source:a1111 OR source:none)", ["castle.png"]),
        ("-model:dream", ["castle.png", "plain.png", "under_score.png"]),  # no model counts as "not dream"
        ("masterpiece:1.2", []),  # an unknown field is prompt text, not an error
        ("100%", ["under_score.png"]),
        ("cotton_shirt", ["under_score.png"]),
    ],
)
def test_queries(lib, query, expected):
    assert names(lib, query) == expected


@pytest.mark.parametrize(
    "query,message",
    [
        ("steps>=abc", "steps needs a number, got 'abc'"),
        ("seed:12a", "seed needs a whole number"),
        ("seed>5", "seed does not take '>'"),
        ("source:midjourney", "source must be one of"),
        ("fav:maybe", "fav takes yes or no"),
        ("date>=yesterday", "date needs YYYY"),
        ("(castle", "'(' is not closed"),
        ("castle)", "')' has no matching '('"),
        ("castle OR", "a search group is empty"),
        ("NOT", "NOT needs a term"),
        ("has:nothing", "has: takes one of"),
        ("size>huge", "size needs a number of bytes"),
    ],
)
def test_bad_queries_name_the_term(lib, query, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        search(lib.index.read(), query)


@pytest.mark.parametrize("sort", ["date", "name", "size"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_keyset_pages_cover_everything_once(lib, sort, order):
    conn = lib.index.read()
    everything = [r["id"] for r in search(conn, "", sort=sort, order=order, limit=1000).rows]
    assert len(everything) == 5
    seen, cursor = [], None
    while True:
        page = search(conn, "", sort=sort, order=order, cursor=cursor, limit=2, with_total=True)
        assert page.total == 5
        seen += [r["id"] for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything
    column = {"date": "mtime_ns", "name": "name", "size": "size"}[sort]
    values = [lib.row(i)[column] for i in everything]
    assert values == sorted(values, reverse=order == "desc")


def test_bad_cursor_and_sort(lib):
    with pytest.raises(QueryError, match="invalid page cursor"):
        search(lib.index.read(), "", cursor="garbage!")
    with pytest.raises(QueryError, match="sort must be one of"):
        search(lib.index.read(), "", sort="random")


def test_trash_scope(lib):
    victim = row_by_name(lib, "plain.png")["id"]
    organise.trash(lib, [victim])
    try:
        assert "plain.png" not in names(lib, "")
        assert names(lib, "in:trash") == ["plain.png"]
    finally:
        organise.restore(lib, [victim])
    assert "plain.png" in names(lib, "")

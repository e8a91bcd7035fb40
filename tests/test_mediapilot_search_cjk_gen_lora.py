"""Search finds what users type: CJK text by any substring, the generation size apart from the pixel size,
LoRA names without folder and extension; and an index made before these gets them by its migration."""

from __future__ import annotations

import json

import pytest

from lorapilot.kit.db import connect, migrate
from lorapilot.tools.mediapilot.index import SCHEMA, MediaIndex
from lorapilot.tools.mediapilot.query import QueryError, search
from support import media_files as mf
from support.media_lib import make_library


def comfy(prompt: str, negative: str = "lowres", lora: str | None = None, size=(1024, 1024)) -> str:
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "animagine.safetensors"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["1", 1]}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": negative, "clip": ["1", 1]}},
        "5": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 1,
                "steps": 20,
                "cfg": 6,
                "sampler_name": "euler",
                "scheduler": "normal",
                "model": ["2" if lora else "1", 0],
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["6", 0],
                "denoise": 1,
            },
        },
        "6": {"class_type": "EmptyLatentImage", "inputs": {"width": size[0], "height": size[1], "batch_size": 1}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "ComfyUI"}},
    }
    if lora:
        graph["2"] = {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": lora,
                "strength_model": 0.6,
                "strength_clip": 1,
                "model": ["1", 0],
                "clip": ["1", 1],
            },
        }
    return json.dumps(graph)


def a1111(prompt: str, size: str = "512x768", neg: str = "") -> str:
    return f"{prompt}\nNegative prompt: {neg}\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 3, Size: {size}"


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    ctx, lib = make_library(tmp_path_factory.mktemp("s"))
    out = ctx.workspace.outputs
    mf.png(out / "sakura.png", texts={"prompt": comfy("1girl, 夜桜の下の少女, 東京タワー", negative="低品質, 文字")})
    mf.png(out / "kyoto.png", texts={"prompt": comfy("京都の寺, 桜並木", lora="SD1.5\\add_detail.safetensors")})
    mf.png(out / "korean.png", texts={"parameters": a1111("서울의 밤, 벚꽃 <lora:loras/add_detail.pt:0.4>")})
    mf.png(out / "tokyo_word.png", texts={"parameters": a1111("tokyo tower at night <lora:add_detail:0.8>")})
    mf.png(out / "decoy.png", texts={"parameters": a1111("東 京 separately <lora:add_detail_v2:1>", size="1024x1024")})
    mf.png(out / "other_lora.png", texts={"parameters": a1111("a cat <lora:more_add_detail:1>")})
    # A hires-fix file: generated at 512x768, saved at 1024x1536 (its pixels).
    mf.png(out / "hires.png", size=(1024, 1536), texts={"parameters": a1111("a castle", size="512x768")})
    lib.scan()
    yield lib
    lib.close()


def names(lib, query):
    return sorted(r["name"] for r in search(lib.index.read(), query, limit=1000).rows)


@pytest.mark.parametrize(
    "query,expected",
    [
        ("桜", ["kyoto.png", "sakura.png"]),  # one character: everywhere it occurs (start, middle and end of runs)
        ("少女", ["sakura.png"]),  # inside the run 夜桜の下の少女
        ("東京", ["sakura.png"]),  # 東 京 with a space between is not 東京
        ("東京タワー", ["sakura.png"]),  # kana in the run
        ("夜桜の下", ["sakura.png"]),
        ("桜の少女", []),  # not a substring
        ("桜並木", ["kyoto.png"]),
        ("並木", ["kyoto.png"]),
        ("寺", ["kyoto.png"]),
        ("벚꽃", ["korean.png"]),
        ("서울", ["korean.png"]),
        ('"夜桜" 1girl', ["sakura.png"]),
        ("少女 -東京", []),
        ("桜 OR 서울", ["korean.png", "kyoto.png", "sakura.png"]),
        ("neg:品質", ["sakura.png"]),  # the negative prompt too
        ("品質", []),  # free text is the positive prompt
        ("桜*", ["kyoto.png", "sakura.png"]),
    ],
)
def test_cjk_text_is_found_by_any_substring(lib, query, expected):
    assert names(lib, query) == expected


@pytest.mark.parametrize(
    "query,expected",
    [
        ("gen:512x768", ["hires.png", "korean.png", "other_lora.png", "tokyo_word.png"]),
        ("gen=1024x1024", ["decoy.png", "kyoto.png", "sakura.png"]),
        ("genwidth>=1024", ["decoy.png", "kyoto.png", "sakura.png"]),
        ("genheight>1000", ["decoy.png", "kyoto.png", "sakura.png"]),
        ("width>=1024", ["hires.png"]),  # the pixel size: only the upscaled file
        ("width>=1024 gen:512x768", ["hires.png"]),
        ("gen!=512x768 source:a1111", ["decoy.png"]),
    ],
)
def test_generation_size_is_searchable_apart_from_pixels(lib, query, expected):
    assert names(lib, query) == expected


def test_gen_needs_a_size(lib):
    with pytest.raises(QueryError, match="gen needs a size like 1024x1024, got '1024'"):
        search(lib.index.read(), "gen:1024")


@pytest.mark.parametrize(
    "query,expected",
    [
        ("lora=add_detail", ["korean.png", "kyoto.png", "tokyo_word.png"]),  # SD1.5\\, loras/ and .pt, bare
        ("lora=ADD_DETAIL.safetensors", ["korean.png", "kyoto.png", "tokyo_word.png"]),
        ("lora=SD1.5\\add_detail.safetensors", ["korean.png", "kyoto.png", "tokyo_word.png"]),
        ("lora!=add_detail", ["decoy.png", "hires.png", "other_lora.png", "sakura.png"]),
        ("lora=add_detail_v2", ["decoy.png"]),
        ("lora:add_detail", ["decoy.png", "korean.png", "kyoto.png", "other_lora.png", "tokyo_word.png"]),
    ],
)
def test_lora_names_compare_without_folder_and_extension(lib, query, expected):
    assert names(lib, query) == expected


def test_cjk_index_follows_overwrites_and_deletes(tmp_path):
    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    try:
        path = mf.png(out / "a.png", texts={"parameters": a1111("満開の桜")})
        lib.scan()
        assert names(lib, "開の") == ["a.png"]
        mf.png(path, texts={"parameters": a1111("雪の富士山")})
        assert lib.scan().updated == 1
        assert names(lib, "開の") == [] and names(lib, "富士") == ["a.png"]
        path.unlink()
        lib.scan()
        assert lib.index.read().execute("SELECT count(*) FROM media_cjk").fetchone()[0] == 0
    finally:
        lib.close()


def test_an_index_made_before_gets_its_cjk_tokens_by_migration(tmp_path):
    """An index at the schema before this change (rows written then) is migrated when opened: its CJK
    prompts become searchable by substring without a rescan (and LoRA names compare by stem)."""
    db = tmp_path / "media.db"
    conn = connect(db)
    migrate(conn, SCHEMA[:-1])
    conn.execute("INSERT INTO roots (id, path, label) VALUES (1, '/x', 'x')")
    conn.execute(
        "INSERT INTO media (id, root_id, rel, name, kind, size, mtime_ns, ctime_ns, inode, positive, "
        "indexed_at) VALUES (1, 1, 'a.png', 'a.png', 'image', 1, 1, 1, 1, '夜桜の下の少女', 0)"
    )
    conn.execute(
        "INSERT INTO media (id, root_id, rel, name, kind, size, mtime_ns, ctime_ns, inode, positive, "
        "indexed_at) VALUES (2, 1, 'b.png', 'b.png', 'image', 1, 1, 1, 2, 'a cat', 0)"
    )
    conn.execute("INSERT INTO media_lora (media_id, name, weight) VALUES (2, 'SD1.5\\add_detail.safetensors', 1)")
    # A ComfyUI hires file (its size was the final pass's then): the next scan reads it again.
    conn.execute(
        "INSERT INTO media (id, root_id, rel, name, kind, size, mtime_ns, ctime_ns, inode, source, params, "
        "indexed_at) VALUES (3, 1, 'c.png', 'c.png', 'image', 1, 1, 1, 3, 'comfyui', "
        '\'{"extra": {"passes": []}}\', 0)'
    )
    conn.close()
    index = MediaIndex(db)
    try:
        read = index.read()
        assert [r["id"] for r in search(read, "少女").rows] == [1]
        assert [r["id"] for r in search(read, "lora=add_detail").rows] == [2]
        assert index.read().execute("SELECT count(*) FROM media_backfill").fetchone()[0] == 0
        assert [r[0] for r in read.execute("SELECT id FROM media WHERE inode = -1")] == [3]
    finally:
        index.close()
    reopened = MediaIndex(db)  # a second open finds nothing left to fill
    try:
        assert reopened.read().execute("SELECT count(*) FROM media_cjk").fetchone()[0] == 1
    finally:
        reopened.close()

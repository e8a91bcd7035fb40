"""Training samples are found by their LoRA: ``lora:NAME`` and ``source:trainpilot``, for every trainer.

TrainPilot runs job N of profile NAME in ``outputs/trainpilot/NNNN-NAME/``. The native trainer names the run
in its A1111 ``parameters`` (``LoRA: NAME``); Kohya's and AI Toolkit's samples carry no metadata at all.
"""

from __future__ import annotations

from lorapilot.tools.mediapilot.meta.a1111 import parse_parameters
from lorapilot.tools.mediapilot.query import search
from support import media_files as mf
from support.media_lib import make_library, row_by_name

# What trainpilot.native.sampling.infotext writes (prompt, negative, settings with the run and step as extras).
NATIVE = (
    "ohwx cat, red\nNegative prompt: blurry, text\n"
    "Steps: 4, Sampler: Euler, CFG scale: 5.5, Seed: 78, Size: 64x64, Model: tiny-sd1, LoRA: my_style_v1, "
    "Training step: 10"
)
OTHER = "a dog\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, Model: m"


def _names(lib, query: str) -> list[str]:
    return sorted(row["name"] for row in search(lib.index.read(), query, limit=100).rows)


def test_native_parameters_name_the_lora():
    info = parse_parameters(NATIVE)
    assert [(l.name, l.weight) for l in info.loras] == [("my_style_v1", None)]  # the strength is not written
    assert info.extra["LoRA"] == "my_style_v1" and info.extra["Training step"] == "10"
    assert info.model == "tiny-sd1"


def test_lora_search_finds_the_samples_of_every_trainer(tmp_path):
    ctx, lib = make_library(tmp_path)
    runs = ctx.workspace.outputs / "trainpilot"
    mf.png(runs / "0003-my_style_v1" / "output" / "samples" / "000010_0.png", texts={"parameters": NATIVE})
    mf.png(runs / "0004-char" / "output" / "sample" / "char_000100_00_20261128120000_42.png")  # Kohya: no metadata
    mf.jpeg(runs / "0005-toolkit run" / "output" / "toolkit run" / "samples" / "1764331200000__000000100_0.jpg")
    mf.png(runs / "0004-char" / "output" / "preview.png")  # not in a samples folder
    mf.png(ctx.workspace.outputs / "comfy" / "ComfyUI_00001_.png", texts={"parameters": OTHER})
    mf.png(ctx.workspace.outputs / "a1111" / "x.png", texts={"parameters": OTHER + ", LoRA: char"})  # any A1111 text
    assert lib.scan().added == 6

    assert _names(lib, "lora:my_style") == ["000010_0.png"]
    assert _names(lib, "lora=char") == ["char_000100_00_20261128120000_42.png", "x.png"]
    assert _names(lib, 'lora:"toolkit run"') == ["1764331200000__000000100_0.jpg"]
    assert _names(lib, "source:trainpilot") == [
        "000010_0.png",
        "1764331200000__000000100_0.jpg",
        "char_000100_00_20261128120000_42.png",
    ]

    native = row_by_name(lib, "000010_0.png")  # the parameters are still read in full
    assert (native["source"], native["model"], native["seed"], native["steps"]) == ("trainpilot", "tiny-sd1", "78", 4)
    assert native["positive"] == "ohwx cat, red"
    kohya = lib.detail(row_by_name(lib, "char_000100_00_20261128120000_42.png")["id"])
    assert [l["name"] for l in kohya["loras"]] == ["char"]
    assert (kohya["params"]["extra"]["training_run"], kohya["seed"]) == ("0004-char", None)
    assert row_by_name(lib, "preview.png")["source"] is None
    lib.close()


def test_the_watcher_path_and_autocomplete_see_it_too(tmp_path):
    from support.api import make_client

    ctx, lib = make_library(tmp_path, media={"watch": False})
    path = mf.png(ctx.workspace.outputs / "trainpilot" / "0001-ink" / "output" / "samples" / "000002_0.png")
    assert lib.reindex([str(path)]).added == 1  # what the watcher calls
    assert _names(lib, "lora:ink") == ["000002_0.png"]
    lib.close()
    with make_client(ctx) as client:
        assert client.get("/api/mediapilot/suggest", params={"field": "lora", "prefix": "in"}).json() == [
            {"value": "ink", "count": 1}
        ]


def test_samples_indexed_before_get_their_lora_on_the_next_scan(tmp_path):
    """An index from before this change: the upgrade makes the next scan re-read the samples, keeping user state."""
    from lorapilot.tools.mediapilot import organise
    from lorapilot.tools.mediapilot.library import MediaLibrary

    ctx, lib = make_library(tmp_path)
    mf.png(ctx.workspace.outputs / "trainpilot" / "0002-ink" / "output" / "samples" / "000004_0.png")
    mf.png(ctx.workspace.outputs / "comfy" / "c.png")
    lib.scan()
    sample = row_by_name(lib, "000004_0.png")["id"]
    organise.set_favourite(lib, [sample])
    with lib.index.write_lock:  # as the previous version left it
        lib.index.conn.execute("DELETE FROM media_lora")
        lib.index.conn.execute("UPDATE media SET source = NULL")
        lib.index.conn.execute("PRAGMA user_version = 1")
    lib.close()

    lib = MediaLibrary.open(ctx)
    report = lib.scan()
    assert (report.updated, report.unchanged) == (1, 1)  # only the sample is read again
    assert _names(lib, "lora:ink fav:yes source:trainpilot") == ["000004_0.png"]
    lib.close()

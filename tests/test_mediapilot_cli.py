"""`lorapilot mediapilot ...` end to end through the real console entry point."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from support import media_files as mf
from support.media_lib import make_library

PARAMS = "a {}\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: {}, Size: 64x48, Model: m, Version: v1.10.1"


def lp(ctx, *args, input=None):
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", *args, "--workspace", str(ctx.workspace.root)],
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
    )


def test_media_cli(tmp_path):
    ctx, lib = make_library(tmp_path)
    lib.close()
    out = ctx.workspace.outputs
    mf.png(out / "comfy" / "cat.png", texts={"parameters": PARAMS.format("cat, <lora:fur_v1:0.6>", 11)})
    mf.png(out / "comfy" / "dog.png", texts={"parameters": PARAMS.format("dog", 2**64 - 1)})
    (out / "comfy" / "broken.png").write_bytes(b"")

    scan = lp(ctx, "mediapilot", "scan")
    assert scan.returncode == 0, scan.stderr
    assert "3 files: 3 added, 0 updated, 0 moved, 0 removed, 0 unchanged, 1 flagged" in scan.stdout

    found = lp(ctx, "mediapilot", "search", "lora:fur", "--json")
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["cat.png"]
    cat = rows[0]["id"]
    dog = json.loads(lp(ctx, "mediapilot", "search", "seed:18446744073709551615", "--json").stdout)["id"]

    show = json.loads(lp(ctx, "mediapilot", "show", str(cat), "--raw", "--json").stdout)
    assert show["loras"][0]["name"] == "fur_v1" and show["raw"]["parameters"].startswith("a cat")
    human = lp(ctx, "mediapilot", "show", str(cat)).stdout  # for people by default: no inode, no mtime_ns
    assert human.startswith(f"#{cat} comfy/cat.png") and "prompt:" in human and "lora:      fur_v1 0.6" in human
    assert "inode" not in human and "mtime_ns" not in human and not human.lstrip().startswith("{")

    bad = lp(ctx, "mediapilot", "search", "cfg<lots")
    assert bad.returncode == 1 and bad.stderr.strip() == "error: cfg needs a number, got 'lots'"

    assert lp(ctx, "mediapilot", "tag", str(cat), "-a", "fluffy").returncode == 0
    assert lp(ctx, "mediapilot", "fav", str(cat)).returncode == 0
    assert json.loads(lp(ctx, "mediapilot", "search", "tag:fluffy fav:yes", "--json").stdout)["id"] == cat

    moved = lp(ctx, "mediapilot", "move", str(cat), "--to", "best")
    assert moved.returncode == 0 and (out / "best" / "cat.png").exists()
    escape = lp(ctx, "mediapilot", "copy", str(cat), "--to", "../../etc")
    assert escape.returncode == 1 and "outside" in escape.stderr

    archive = tmp_path / "sel.zip"
    assert lp(ctx, "mediapilot", "zip", str(cat), str(dog), "-o", str(archive)).returncode == 0
    assert zipfile.ZipFile(archive).namelist() == ["cat.png", "dog.png"]

    assert lp(ctx, "mediapilot", "trash", str(dog)).returncode == 0
    listing = lp(ctx, "mediapilot", "trash")
    assert "comfy/dog.png" in listing.stdout
    refused = lp(ctx, "mediapilot", "empty-trash", "--all", input="n\n")
    assert refused.returncode != 0 and "aborted" in refused.stderr.lower()
    assert lp(ctx, "mediapilot", "restore", str(dog)).returncode == 0 and (out / "comfy" / "dog.png").exists()
    assert lp(ctx, "mediapilot", "trash", str(dog)).returncode == 0
    emptied = lp(ctx, "mediapilot", "empty-trash", "--all", "--yes")
    assert emptied.returncode == 0 and "deleted 1 item(s)" in emptied.stdout
    assert lp(ctx, "mediapilot", "trash").stdout == ""
    roots = lp(ctx, "mediapilot", "roots")
    assert roots.stdout.startswith("outputs\t")

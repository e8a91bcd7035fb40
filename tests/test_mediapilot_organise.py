"""Favourites, tags, batch move/copy, trash with restore and an emptying policy, zip, compare."""

from __future__ import annotations

import io
import json
import os
import zipfile

import pytest

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.safepath import PathEscapeError
from lorapilot.tools.mediapilot import organise
from support import media_files as mf
from support.media_lib import make_library, row_by_name

PARAMS = "a {}, red\nNegative prompt: ugly\nSteps: {}, Sampler: Euler, CFG scale: 7, Seed: {}, Size: 64x48, Model: m"


@pytest.fixture
def env(tmp_path):
    ctx, lib = make_library(tmp_path)
    out = ctx.workspace.outputs
    for i, word in enumerate(["cat", "dog", "owl"]):
        mf.png(out / "comfy" / f"{word}.png", texts={"parameters": PARAMS.format(word, 20 + i, i)})
    lib.scan()
    ids = {w: row_by_name(lib, f"{w}.png")["id"] for w in ("cat", "dog", "owl")}
    yield ctx, lib, out, ids
    lib.close()


def test_favourites_and_tags(env):
    ctx, lib, out, ids = env
    assert organise.set_favourite(lib, [ids["cat"], ids["dog"]]) == 2
    assert organise.set_favourite(lib, [ids["dog"]], False) == 1
    assert [lib.row(i)["fav"] for i in ids.values()] == [1, 0, 0]
    organise.tag(lib, ids.values(), add=["  best   shot ", "Portrait"])
    organise.tag(lib, [ids["owl"]], remove=["portrait"])  # tags compare without case
    assert lib.detail(ids["cat"])["tags"] == ["best shot", "Portrait"]
    assert lib.detail(ids["owl"])["tags"] == ["best shot"]
    assert organise.all_tags(lib) == [("best shot", 3), ("Portrait", 2)]
    with pytest.raises(LorapilotError, match="cannot be empty"):
        organise.tag(lib, [ids["cat"]], add=["   "])
    with pytest.raises(NotFoundError, match="no media item 999"):
        organise.set_favourite(lib, [999])


def test_move_keeps_identity_and_never_overwrites(env):
    ctx, lib, out, ids = env
    organise.tag(lib, [ids["cat"]], add=["moved"])
    mf.png(out / "keep" / "dog.png")  # a different file already there
    result = organise.move(lib, [ids["cat"], ids["dog"]], "keep")
    assert result.done == [ids["cat"]]
    assert "keep/dog.png already exists" in result.failed[ids["dog"]]
    assert (out / "keep" / "cat.png").exists() and not (out / "comfy" / "cat.png").exists()
    assert (out / "comfy" / "dog.png").exists()
    row = lib.row(ids["cat"])
    assert row["rel"] == "keep/cat.png"
    assert lib.detail(ids["cat"])["tags"] == ["moved"]
    report = lib.scan()  # the index already matches the disk
    assert (report.added, report.removed, report.updated, report.moved) == (1, 0, 0, 0)  # only keep/dog.png is new


def test_copy_indexes_the_copy_with_tags(env):
    ctx, lib, out, ids = env
    organise.tag(lib, [ids["owl"]], add=["copied"])
    organise.set_favourite(lib, [ids["owl"]])
    result = organise.copy(lib, [ids["owl"]], "outputs:picks/2026")
    assert result.done == [ids["owl"]] and not result.failed
    copy_row = lib.index.read().execute("SELECT * FROM media WHERE rel = 'picks/2026/owl.png'").fetchone()
    assert copy_row["id"] != ids["owl"] and copy_row["fav"] == 1 and copy_row["seed"] == "2"
    assert lib.detail(copy_row["id"])["tags"] == ["copied"]
    assert (out / "comfy" / "owl.png").read_bytes() == (out / "picks" / "2026" / "owl.png").read_bytes()
    again = organise.copy(lib, [ids["owl"]], "picks/2026")
    assert "already exists" in again.failed[ids["owl"]]


def test_destination_must_stay_inside_the_root(env):
    ctx, lib, out, ids = env
    with pytest.raises(PathEscapeError):
        organise.move(lib, [ids["cat"]], "../../escape")
    (ctx.workspace.root / "elsewhere").mkdir()
    (out / "sneaky").symlink_to(ctx.workspace.root / "elsewhere")
    with pytest.raises(PathEscapeError):
        organise.copy(lib, [ids["cat"]], "sneaky")
    (out / "afile").write_text("x")
    with pytest.raises(ConflictError, match="is a file"):
        organise.move(lib, [ids["cat"]], "afile")


def test_trash_restore_keeps_tags_and_favourite(env):
    ctx, lib, out, ids = env
    organise.tag(lib, [ids["dog"]], add=["good boy"])
    organise.set_favourite(lib, [ids["dog"]])
    result = organise.trash(lib, [ids["dog"]])
    assert result.done == [ids["dog"]]
    assert not (out / "comfy" / "dog.png").exists()
    trashed = organise.trash_list(lib)
    assert [t["id"] for t in trashed] == [ids["dog"]]
    assert (ctx.workspace.trash / trashed[0]["trash_id"] / "dog.png").exists()
    assert lib.scan().removed == 0  # a scan does not forget trashed items
    assert organise.trash(lib, [ids["dog"]]).failed[ids["dog"]] == "it is already in the trash"
    assert organise.restore(lib, [ids["dog"]]).done == [ids["dog"]]
    assert (out / "comfy" / "dog.png").exists()
    assert lib.detail(ids["dog"])["tags"] == ["good boy"] and lib.row(ids["dog"])["fav"] == 1
    assert lib.scan().updated == 0


def test_restore_never_overwrites(env):
    ctx, lib, out, ids = env
    organise.trash(lib, [ids["cat"]])
    mf.png(out / "comfy" / "cat.png")  # a new file took its place
    lib.scan()
    result = organise.restore(lib, [ids["cat"]])
    assert "exists" in result.failed[ids["cat"]]
    assert [t["id"] for t in organise.trash_list(lib)] == [ids["cat"]]


def test_empty_trash_follows_the_policy_and_only_when_asked(env):
    ctx, lib, out, ids = env
    organise.trash(lib, [ids["cat"], ids["dog"]])
    # Age the cat's trash record by 40 days.
    cat_item = next(t for t in organise.trash_list(lib) if t["id"] == ids["cat"])
    info_path = ctx.workspace.trash / cat_item["trash_id"] / "info.json"
    info = json.loads(info_path.read_text())
    info["deleted_at"] -= 40 * 86400
    info_path.write_text(json.dumps(info))
    result = organise.empty_trash(lib)  # default policy: keep 30 days
    assert result["removed"] == 1 and result["kept_days"] == 30
    assert not (ctx.workspace.trash / cat_item["trash_id"]).exists()
    assert [t["id"] for t in organise.trash_list(lib)] == [ids["dog"]]
    with pytest.raises(NotFoundError):
        lib.row(ids["cat"])
    assert organise.empty_trash(lib, older_than_days=1)["removed"] == 0
    assert organise.empty_trash(lib, everything=True)["removed"] == 1
    assert organise.trash_list(lib) == []
    assert lib.index.count() == 1


def test_trash_emptied_by_another_tool_is_forgotten(env):
    from lorapilot.kit.trash import Trash

    ctx, lib, out, ids = env
    organise.trash(lib, [ids["owl"]])
    Trash(ctx.workspace.root).empty()
    assert organise.trash_list(lib) == []
    with pytest.raises(NotFoundError):
        lib.row(ids["owl"])


def test_zip_stream_is_valid_and_bounded(env):
    ctx, lib, out, ids = env
    big = out / "comfy" / "big.png"
    mf.png(big, size=(1200, 1200))
    with open(big, "ab") as fh:  # make it a few MB (trailing bytes after IEND are ignored by readers)
        fh.write(os.urandom(3 * 1024 * 1024))
    mf.png(out / "other" / "cat.png")  # same name as comfy/cat.png
    lib.scan()
    selection = [
        ids["cat"],
        row_by_name(lib, "big.png")["id"],
        lib.index.read().execute("SELECT id FROM media WHERE rel = 'other/cat.png'").fetchone()[0],
    ]
    chunks = list(organise.zip_stream(lib, selection, chunk_size=256 * 1024))
    assert max(len(c) for c in chunks) <= 256 * 1024 + 4096  # never more than one block in memory
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    assert archive.namelist() == ["cat.png", "big.png", "cat (2).png"]
    assert archive.read("big.png") == big.read_bytes()


def test_compare(env):
    ctx, lib, out, ids = env
    result = organise.compare(lib, [ids["cat"], ids["dog"]])
    fields = {f["field"]: f for f in result["fields"]}
    assert fields["steps"] == {"field": "steps", "values": [20, 21], "same": False}
    assert fields["cfg"]["same"] is True and fields["model"]["values"] == ["m", "m"]
    assert result["prompts"]["positive"] == {"common": ["red"], "only": [["a cat"], ["a dog"]]}
    assert result["prompts"]["negative"]["common"] == ["ugly"]
    with pytest.raises(LorapilotError, match="2 to 4 items"):
        organise.compare(lib, [ids["cat"]])

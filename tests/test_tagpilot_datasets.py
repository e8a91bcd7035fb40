"""Datasets: create, list, rename, delete to trash, stats, and importing from folders, zips and uploads."""

import io
import os
import zipfile
from pathlib import Path

import pytest

from lorapilot.kit.archive import ArchiveLimits, UnsafeArchiveError
from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.safepath import PathEscapeError
from lorapilot.kit.trash import Trash
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.importer import import_folder, import_upload, import_zip
from lorapilot.tools.tagpilot.index import dataset_stats, get_record, scan
from support.tagpilot import make_dataset_files, write_image


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def test_create_list_rename_delete_and_restore(ws):
    datasets.create_dataset(ws, "cats")
    datasets.create_dataset(ws, "dogs v2")
    assert [d.name for d in datasets.list_datasets(ws)] == ["cats", "dogs v2"]
    with pytest.raises(ConflictError, match="already exists"):
        datasets.create_dataset(ws, "cats")
    renamed = datasets.rename_dataset(ws, "cats", "felines")
    assert renamed.path == ws.datasets / "felines" and renamed.path.is_dir()
    write_image(renamed.path / "a.png")
    item = datasets.delete_dataset(ws, "felines")
    assert not (ws.datasets / "felines").exists()
    Trash(ws.root).restore(item.id)
    assert (ws.datasets / "felines" / "a.png").is_file()


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "", ".hidden", "x\\y", "bad\x00name"])
def test_a_dataset_name_with_a_path_in_it_is_refused(ws, name):
    with pytest.raises((PathEscapeError, LorapilotError)):
        datasets.create_dataset(ws, name)
    assert not (ws.root / "escape").exists()


def test_opening_a_missing_dataset_is_not_found(ws):
    with pytest.raises(NotFoundError, match="no dataset 'nope'"):
        datasets.open_dataset(ws, "nope")


def test_stats_count_sizes_aspects_and_captions(ws):
    ds = datasets.create_dataset(ws, "set")
    write_image(ds.path / "square.png", (512, 512))
    write_image(ds.path / "wide.jpg", (768, 512))
    write_image(ds.path / "tall.webp", (512, 768))
    (ds.path / "square.txt").write_text("a, b")
    (ds.path / "broken.png").write_bytes(b"not an image")
    (ds.path / "notes.md").write_text("ignored: not an image")
    stats = dataset_stats(ds)
    assert stats["images"] == 4
    assert stats["captioned"] == 1 and stats["captioned_pct"] == 25.0
    assert stats["undecodable"] == 1
    assert stats["aspect_ratios"] == {"1:1": 1, "3:2": 1, "2:3": 1}
    assert stats["width"] == {"min": 512, "max": 768, "mean": 597.3}
    assert stats["short_side"] == {"512-767": 3}


def test_non_utf8_caption_is_read_with_replacement_and_flagged(ws):
    ds = datasets.create_dataset(ws, "set")
    write_image(ds.path / "a.png")
    (ds.path / "a.txt").write_bytes("caf\xe9, ok".encode("latin-1"))
    record = get_record(ds, "a.png")
    assert record.caption.non_utf8 is True
    assert record.caption.text == "caf\ufffd, ok"
    assert dataset_stats(ds)["non_utf8_captions"] == 1


def test_import_folder_recursive_with_captions_renames_clashes_and_reports(ws, tmp_path):
    source = tmp_path / "src"
    make_dataset_files(source, {"a.png": "one", "b.jpg": None})
    make_dataset_files(source / "nested", {"a.png": "nested one"})
    (source / "readme.md").write_text("not an image")
    (source / "bad.png").write_bytes(b"\x89PNG garbage")
    ds = datasets.create_dataset(ws, "set")
    report = import_folder(ds, source)
    assert sorted(report.imported) == ["a-1.png", "a.png", "b.jpg", "bad.png"]
    assert report.captions == 2
    assert report.renamed == {"nested/a.png": "a-1.png"}
    assert ("readme.md", "not an image or clip (png, jpg, jpeg, webp, bmp, mp4, webm, mov)") in report.skipped
    assert [w[0] for w in report.warnings] == ["bad.png"]  # undecodable: reported, not fatal
    assert report.warnings[0][1] == "cannot read image: cannot identify image file 'bad.png'"  # no server path
    assert (ds.path / "a-1.txt").read_text() == "nested one"
    assert (source / "a.png").exists()  # copied, not moved


def test_a_folder_holding_the_dataset_cannot_be_imported_into_it(ws):
    ds = datasets.create_dataset(ws, "set")
    make_dataset_files(ds.path, {"a.png": "one"})
    for source in (ds.path, ws.datasets, ws.root):
        with pytest.raises(LorapilotError, match="the folder holds the dataset itself"):
            import_folder(ds, source)
    assert sorted(p.name for p in ds.path.iterdir() if not p.name.startswith(".")) == ["a.png", "a.txt"]


def test_import_never_pairs_two_images_with_one_caption(ws, tmp_path):
    ds = datasets.create_dataset(ws, "set")
    write_image(ds.path / "x.png")
    (ds.path / "x.txt").write_text("existing")
    source = tmp_path / "src"
    make_dataset_files(source, {"x.jpg": "incoming"})
    report = import_folder(ds, source)
    assert report.imported == ["x-1.jpg"]
    assert (ds.path / "x.txt").read_text() == "existing"
    assert (ds.path / "x-1.txt").read_text() == "incoming"


SYMLINK = object()  # a member value: store a symbolic link to /etc/passwd under that name


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if data is SYMLINK:
                info = zipfile.ZipInfo(name)
                info.create_system = 3  # unix: the high 16 bits are st_mode
                info.external_attr = 0o120777 << 16
                zf.writestr(info, "/etc/passwd")
            else:
                zf.writestr(name, data)
    return buffer.getvalue()


def _png_bytes(seed=0) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (seed, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_import_zip_with_a_top_folder(ws, tmp_path):
    ds = datasets.create_dataset(ws, "set")
    archive = tmp_path / "in.zip"
    archive.write_bytes(
        _zip_bytes({"photos/p1.png": _png_bytes(1), "photos/p1.txt": b"tag a", "photos/p2.png": _png_bytes(2)})
    )
    report = import_zip(ds, archive)
    assert sorted(report.imported) == ["p1.png", "p2.png"]
    assert (ds.path / "p1.txt").read_text() == "tag a"
    assert not any(p.name.startswith("import-") for p in ds.state_dir.iterdir())


@pytest.mark.parametrize(
    "members, reason",
    [
        ({"ok.png": b"x", "../../escape.png": b"x"}, "escapes"),
        ({"/abs.png": b"x"}, "absolute"),
        ({"bomb.png": b"\0" * (8 * 1024 * 1024)}, "zip bomb"),
        ({"ok.png": b"x", "link.png": SYMLINK}, "symlinks are not allowed"),
        ({"a.png": os.urandom(700_000), "b.png": os.urandom(700_000)}, "expands to more than 1000000 bytes"),
    ],
)
def test_a_hostile_zip_writes_nothing_into_the_dataset(ws, tmp_path, members, reason):
    ds = datasets.create_dataset(ws, "set")
    write_image(ds.path / "keep.png")
    before = sorted(p.name for p in ds.path.rglob("*"))
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_zip_bytes(members))
    with pytest.raises(UnsafeArchiveError, match=reason):
        import_zip(ds, archive, ArchiveLimits(max_total_bytes=1_000_000))
    assert sorted(p.name for p in ds.path.rglob("*")) == before
    assert not (ws.root / "escape.png").exists()


def test_upload_an_image_and_its_caption(ws):
    ds = datasets.create_dataset(ws, "set")
    report = import_upload(ds, "u.png", io.BytesIO(_png_bytes()))
    assert report.imported == ["u.png"]
    import_upload(ds, "u.txt", io.BytesIO(b"uploaded caption"))
    assert [r.caption.text for r in scan(ds)] == ["uploaded caption"]
    with pytest.raises(LorapilotError, match="already exists"):
        import_upload(ds, "u.txt", io.BytesIO(b"again"))
    with pytest.raises(LorapilotError, match="not an image"):
        import_upload(ds, "evil.sh", io.BytesIO(b"#!/bin/sh"))
    with pytest.raises(PathEscapeError):
        import_upload(ds, "../u.png", io.BytesIO(_png_bytes()))
    with pytest.raises(LorapilotError, match="upload limit"):
        import_upload(ds, "big.png", io.BytesIO(b"0" * 2000), max_bytes=1000)
    assert sorted(p.name for p in ds.path.iterdir() if not p.name.startswith(".")) == ["u.png", "u.txt"]


def test_an_image_uploaded_after_its_caption_is_paired_with_it(ws):
    """The page uploads one file per request, in whatever order the browser lists them."""
    ds = datasets.create_dataset(ws, "set")
    import_upload(ds, "img.txt", io.BytesIO(b"caption first"))
    report = import_upload(ds, "img.png", io.BytesIO(_png_bytes()))
    assert report.imported == ["img.png"] and report.renamed == {}
    assert [(r.name, r.caption.text) for r in scan(ds)] == [("img.png", "caption first")]
    # a second image with the same stem still never shares that caption
    report = import_upload(ds, "img.webp", io.BytesIO(_png_bytes(1)))
    assert report.imported == ["img-1.webp"]


def test_exclude_and_include_move_images_with_captions(ws):
    ds = datasets.create_dataset(ws, "set")
    make_dataset_files(ds.path, {"a.png": "cap a", "b.png": None})
    datasets.exclude_images(ds, ["a.png"])
    assert [r.name for r in scan(ds)] == ["b.png"]
    assert datasets.excluded_images(ds) == ["a.png"]
    datasets.include_images(ds, ["a.png"])
    assert (ds.path / "a.txt").read_text() == "cap a"
    items = datasets.delete_images(ws, ds, ["a.png"])
    assert {Path(i.original).name for i in items} == {"a.png", "a.txt"}
    assert [r.name for r in scan(ds)] == ["b.png"]

"""Crop: geometry for every aspect and focus, the original kept byte for byte, re-crop from it, reset."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.trash import Trash
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.crop import crop_image, crop_images, crop_state, original_file, originals_dir, reset_crop
from lorapilot.tools.tagpilot.cropgeom import ASPECTS, check_box, largest_box
from lorapilot.tools.tagpilot.index import get_record, scan


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def gradient(width: int, height: int) -> Image.Image:
    """An image whose every pixel tells where it came from: red = x, green = y (mod 256), blue = x // 256."""
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    pixels = np.stack([xs % 256, ys % 256, (xs // 256) * 40 + (ys // 256) * 7], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ds(ws):
    ds = datasets.create_dataset(ws, "set")
    gradient(600, 400).save(ds.path / "wide.png")
    gradient(300, 500).save(ds.path / "tall.png")
    return ds


@pytest.mark.parametrize("aspect", list(ASPECTS))
@pytest.mark.parametrize("size", [(600, 400), (300, 500), (1000, 1000)])
def test_the_largest_box_of_each_aspect_fills_one_side_and_keeps_the_ratio(aspect, size):
    width, height = size
    box = largest_box(width, height, aspect)
    aw, ah = ASPECTS[aspect]
    assert box.width == width or box.height == height  # as large as the image allows
    assert box.width <= width and box.height <= height
    assert abs(box.width / box.height - aw / ah) <= 1 / min(box.width, box.height) * (aw / ah + 1)
    # centred by default
    assert abs(box.x + box.width / 2 - width / 2) <= 1 and abs(box.y + box.height / 2 - height / 2) <= 1


@pytest.mark.parametrize(
    ("focus", "expected_x"),
    [((0.0, 0.5), 0), ((1.0, 0.5), 200), ((0.5, 0.5), 100), ((0.4, 0.9), 40)],
)
def test_the_focus_point_centres_the_box_until_it_meets_an_edge(focus, expected_x):
    box = largest_box(600, 400, "1:1", focus)
    assert (box.x, box.y, box.width, box.height) == (expected_x, 0, 400, 400)


def test_a_focus_on_a_tall_image_moves_the_box_vertically():
    assert largest_box(300, 500, "1:1", (0.5, 0.1)).as_tuple() == (0, 0, 300, 300)
    assert largest_box(300, 500, "1:1", (0.5, 0.6)).as_tuple() == (0, 150, 300, 300)
    assert largest_box(300, 500, "16:9", (0.2, 1.0)).as_tuple() == (0, 331, 300, 169)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"aspect": "5:7"}, "aspect '5:7' is not a preset"),
        ({"aspect": "1:1", "focus": (1.2, 0.5)}, r"focus x = 1.2 is outside 0..1"),
        ({"aspect": "1:1", "focus": (0.5, -0.1)}, r"focus y = -0.1 is outside 0..1"),
        ({"box": (500, 0, 200, 100)}, r"box 500,0,200,100 is outside the image \(600×400\)"),
        ({"box": (0, 0, 0, 10)}, "at least 1 pixel"),
        ({"aspect": "1:1", "box": (0, 0, 300, 200)}, "box 300×200 is not aspect 1:1"),
        ({}, "aspect 'free' needs a box"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_value(ds, kwargs, message):
    before = sha(ds.path / "wide.png")
    with pytest.raises(LorapilotError, match=message):
        crop_image(ds, "wide.png", **kwargs)
    assert sha(ds.path / "wide.png") == before
    assert not (originals_dir(ds) / "wide.png").exists()


def test_a_crop_writes_the_cut_pixels_and_keeps_the_original_byte_identical(ds):
    path = ds.path / "wide.png"
    original_bytes = path.read_bytes()
    state = crop_image(ds, "wide.png", "1:1", focus=(0.4, 0.3))
    assert state.cropped and state.box == (40, 0, 400, 400) and state.aspect == "1:1"
    assert (state.original_width, state.original_height) == (600, 400)
    with Image.open(path) as img:
        assert img.size == (400, 400)
        assert img.getpixel((0, 0)) == gradient(600, 400).getpixel((40, 0))
        assert img.getpixel((399, 399)) == gradient(600, 400).getpixel((439, 399))
    kept = originals_dir(ds) / "wide.png"
    assert kept.read_bytes() == original_bytes
    assert original_file(ds, "wide.png") == kept
    # TagPilot's own listing sees the new size and no hidden file
    assert [(r.name, r.width, r.height) for r in scan(ds)] == [("tall.png", 300, 500), ("wide.png", 400, 400)]


def test_a_re_crop_cuts_from_the_original_not_from_the_crop(ds):
    crop_image(ds, "wide.png", "1:1", focus=(0.0, 0.5))  # 400×400 at x=0
    state = crop_image(ds, "wide.png", "3:2", focus=(0.5, 0.5))
    # 3:2 of the 400×400 crop could be at most 400×267; from the 600×400 original it is the whole image
    assert state.box == (0, 0, 600, 400)
    with Image.open(ds.path / "wide.png") as img:
        assert img.size == (600, 400)
        assert img.getpixel((599, 0)) == gradient(600, 400).getpixel((599, 0))
    # a new aspect without a focus keeps the last focus point
    crop_image(ds, "wide.png", "1:1", focus=(1.0, 0.0))
    assert crop_image(ds, "wide.png", "4:5").box == (280, 0, 320, 400)
    assert crop_state(ds, "wide.png").focus == (1.0, 0.0)


def test_an_explicit_box_is_cut_exactly(ds):
    state = crop_image(ds, "tall.png", box=(10, 20, 100, 50))
    assert state.box == (10, 20, 100, 50) and state.aspect == "free"
    with Image.open(ds.path / "tall.png") as img:
        assert img.size == (100, 50)
        assert img.getpixel((0, 0)) == gradient(300, 500).getpixel((10, 20))


def test_reset_restores_the_original_byte_for_byte(ds):
    path = ds.path / "wide.png"
    original_bytes = path.read_bytes()
    crop_image(ds, "wide.png", "9:16")
    crop_image(ds, "wide.png", "16:9", focus=(0.1, 0.9))
    state = reset_crop(ds, "wide.png")
    assert not state.cropped and (state.original_width, state.original_height) == (600, 400)
    assert path.read_bytes() == original_bytes
    assert not (originals_dir(ds) / "wide.png").exists()
    assert get_record(ds, "wide.png").width == 600  # the size cache sees the restored file
    with pytest.raises(NotFoundError, match="is not cropped"):
        reset_crop(ds, "wide.png")


def test_jpeg_keeps_its_format_and_icc_profile(ds):
    img = gradient(400, 300)
    img.save(ds.path / "photo.jpg", quality=90, icc_profile=b"fake-icc")
    crop_image(ds, "photo.jpg", "1:1")
    with Image.open(ds.path / "photo.jpg") as out:
        assert out.format == "JPEG" and out.size == (300, 300)
        assert out.info.get("icc_profile") == b"fake-icc"


def test_an_image_replaced_since_its_crop_becomes_the_new_original(ws, ds):
    crop_image(ds, "wide.png", "1:1")
    old_original = (originals_dir(ds) / "wide.png").read_bytes()
    gradient(800, 200).save(ds.path / "wide.png")  # replaced from outside (an editor, a re-import)
    assert not crop_state(ds, "wide.png").cropped
    with pytest.raises(ConflictError, match="'wide.png' was replaced since it was cropped"):
        reset_crop(ds, "wide.png")
    new_bytes = (ds.path / "wide.png").read_bytes()
    state = crop_image(ds, "wide.png", "1:1")
    assert (state.original_width, state.original_height, state.box) == (800, 200, (300, 0, 200, 200))
    assert (originals_dir(ds) / "wide.png").read_bytes() == new_bytes
    trashed = [item for item in Trash(ws.root).list() if item.name == "wide.png"]
    assert len(trashed) == 1  # the stale original went to the trash, not away
    assert Trash(ws.root).restore(trashed[0].id, to="old-original.png").read_bytes() == old_original


def test_bulk_crop_uses_each_focus_and_reports_failures(ds):
    crop_image(ds, "wide.png", "1:1", focus=(0.0, 0.0))
    (ds.path / "broken.png").write_bytes(b"not an image")
    progress = []
    report = crop_images(ds, ["wide.png", "tall.png", "broken.png"], "3:4", lambda c, t, m="": progress.append((c, t)))
    assert report.cropped == ["wide.png", "tall.png"]
    assert "broken.png" in report.failed and "cannot read image 'broken.png'" in report.failed["broken.png"]
    assert crop_state(ds, "wide.png").box == (0, 0, 300, 400)  # its own focus: the left edge
    assert crop_state(ds, "tall.png").box == (0, 50, 300, 400)  # no focus yet: the centre
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    with pytest.raises(LorapilotError, match="needs an aspect preset"):
        crop_images(ds, ["wide.png"], "free")
    with pytest.raises(NotFoundError, match="no image 'nope.png'"):
        crop_images(ds, ["wide.png", "nope.png"], "1:1")


def test_check_box_names_the_box_and_image_size():
    with pytest.raises(LorapilotError, match=r"box -1,0,10,10 is outside the image \(20×20\)"):
        check_box((-1, 0, 10, 10), 20, 20)


def test_export_and_the_trainers_folder_see_the_crop_never_the_original(ws, ds):
    from lorapilot.tools.tagpilot.export import ExportOptions, export_dataset

    crop_image(ds, "wide.png", "1:1")
    export_dataset(ws, ds, ExportOptions(formats=("kohya",), repeats=2))
    image_dir = ws.outputs / "tagpilot" / "set" / "kohya" / "img" / "2_set"
    assert sorted(p.name for p in image_dir.iterdir() if p.suffix == ".png") == ["tall.png", "wide.png"]
    with Image.open(image_dir / "wide.png") as img:
        assert img.size == (400, 400)
    # the dataset folder the trainers and the handoff point at: the crop on top, the original only under .tagpilot/
    assert ds.image_names() == ["tall.png", "wide.png"]
    found = sorted(p.relative_to(ds.path).as_posix() for p in ds.path.rglob("wide.png"))
    assert found == [".tagpilot/originals/wide.png", "wide.png"]


def test_a_crop_whose_write_fails_leaves_the_original_in_place_and_can_be_redone(ds, monkeypatch):
    from lorapilot.tools.tagpilot import crop as crop_module

    original = (ds.path / "wide.png").read_bytes()

    def disk_full(path, data, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(crop_module, "atomic_write_bytes", disk_full)
        with pytest.raises(OSError, match="No space left"):
            crop_image(ds, "wide.png", "1:1")
    assert (ds.path / "wide.png").read_bytes() == original
    assert not crop_state(ds, "wide.png").cropped  # the row was written first, but the file says otherwise
    assert crop_image(ds, "wide.png", "1:1").box == (100, 0, 400, 400)
    assert (originals_dir(ds) / "wide.png").read_bytes() == original
    assert reset_crop(ds, "wide.png").cropped is False
    assert (ds.path / "wide.png").read_bytes() == original


def test_trashing_a_cropped_image_takes_its_original_along_and_restoring_both_brings_the_crop_back(ws, ds):
    original = (ds.path / "wide.png").read_bytes()
    crop_image(ds, "wide.png", "1:1")
    items = datasets.delete_images(ws, ds, ["wide.png"])
    assert sorted(item.original for item in items) == [
        "datasets/set/.tagpilot/originals/wide.png",
        "datasets/set/wide.png",
    ]
    assert not (originals_dir(ds) / "wide.png").exists()
    for item in items:
        Trash(ws.root).restore(item.id)
    state = crop_state(ds, "wide.png")
    assert state.cropped and state.box == (100, 0, 400, 400)
    reset_crop(ds, "wide.png")
    assert (ds.path / "wide.png").read_bytes() == original


def test_a_video_clip_is_refused_naming_it_and_left_as_it_was(ds):
    from support.clips import make_clip

    clip = make_clip(ds.path / "walk.mp4")
    before = sha(clip)
    with pytest.raises(LorapilotError, match=r"walk\.mp4: a video clip is not cropped here; extract its frames"):
        crop_image(ds, "walk.mp4", "1:1")
    assert sha(clip) == before
    assert not (originals_dir(ds) / "walk.mp4").exists()

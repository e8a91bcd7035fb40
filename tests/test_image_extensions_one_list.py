"""One list of image suffixes (``lorapilot.kit.imagefiles``): every tool sees the same images.

Before, TagPilot's list lacked ``.bmp`` while TrainPilot and the native trainer had it: a .bmp was trained
on but never shown, captioned or checked in TagPilot.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from lorapilot.kit.imagefiles import IMAGE_EXTENSIONS, IMAGE_FORMATS, is_image_name
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.mediapilot.probe import IMAGE_EXTENSIONS as MEDIA_IMAGE_EXTENSIONS
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.captioning import CaptionOutput, run_captioner
from lorapilot.tools.tagpilot.checks import CheckOptions, run_checks
from lorapilot.tools.tagpilot.index import scan
from lorapilot.tools.trainpilot.datasets import list_images
from lorapilot.tools.trainpilot.native.config import DatasetSettings
from lorapilot.tools.trainpilot.native.images import scan_images
from support.tagpilot import write_image

NAMES = ["a.png", "b.JPG", "c.jpeg", "d.webp", "e.bmp"]


def _folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        fmt = IMAGE_FORMATS[Path(name).suffix.lower()]
        write_image(root / f"tmp.{fmt}", size=(64, 48), noise_seed=len(name) + ord(name[0]))
        (root / f"tmp.{fmt}").rename(root / name)
    (root / ".hidden.png").write_bytes((root / "a.png").read_bytes())
    (root / "notes.gif").write_bytes(b"GIF89a")
    return root


def test_the_list_has_every_trainer_format_including_bmp():
    assert set(IMAGE_EXTENSIONS) == {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
    assert is_image_name("X.BMP") and not is_image_name(".x.bmp") and not is_image_name("x.gif")
    # MediaPilot indexes the shared list less the formats it has no metadata reader for.
    assert set(MEDIA_IMAGE_EXTENSIONS) <= set(IMAGE_EXTENSIONS)


def test_tagpilot_trainpilot_and_the_native_trainer_see_the_same_images_hidden_ones_included_by_none(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ds = datasets.create_dataset(ws, "set")
    _folder(ds.path)
    tagpilot = ds.image_names()
    trainpilot = [p.name for p in list_images(ds.path)]
    settings = DatasetSettings(image_dir=ds.path, resolution=64, bucket_step=16, min_bucket=32, max_bucket=96)
    native = [image.path.name for image in scan_images(settings)]
    assert sorted(tagpilot) == sorted(trainpilot) == sorted(native) == sorted(NAMES)


def test_tagpilot_shows_captions_and_checks_a_bmp(tmp_path):
    ds = datasets.create_dataset(Workspace(tmp_path / "ws"), "set")
    write_image(ds.path / "tiny.bmp", size=(40, 30), noise_seed=3)
    record = {r.name: r for r in scan(ds)}["tiny.bmp"]
    assert (record.width, record.height) == (40, 30)

    class SizeTagger:
        """Tags each image with its real decoded size (Pillow opens the file)."""

        name = "size"

        def caption(self, path: Path) -> CaptionOutput:
            with Image.open(path) as img:
                return CaptionOutput(tags=[f"{img.width}x{img.height}", img.format.lower()])

    report = run_captioner(ds, SizeTagger())
    assert report.written == 1 and not report.errors
    assert (ds.path / "tiny.txt").read_text(encoding="utf-8") == "40x30, bmp"

    found = {f.check: f.images for f in run_checks(ds, CheckOptions(workers=1)).findings}
    assert found["low_resolution"] == ["tiny.bmp"]

"""The WD14 tagger on a tiny WD14-shaped ONNX model, in a real onnxruntime session."""

import numpy as np
import pytest
from PIL import Image

from lorapilot.kit.errors import ConfigError
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.captioning import run_captioner
from lorapilot.tools.tagpilot.edits import undo
from lorapilot.tools.tagpilot.wd14 import TaggerOptions, WD14Tagger, display_tag, mcut_threshold, preprocess
from support.tagpilot import build_wd14_model, write_image


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_wd14_model(tmp_path_factory.mktemp("wd14"))


def test_preprocess_pads_to_a_white_square_in_bgr_0_255():
    img = Image.new("RGBA", (40, 20), (255, 0, 0, 255))
    array = preprocess(img, 32)
    assert array.shape == (32, 32, 3) and array.dtype == np.float32
    assert array[16, 16].tolist() == [0.0, 0.0, 255.0]  # red, as BGR
    assert array[0, 0].tolist() == [255.0, 255.0, 255.0]  # white padding
    transparent = preprocess(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), 8)
    assert transparent.min() == 255.0  # alpha lands on white


def test_tags_with_thresholds_ratings_and_kaomoji(model_dir, tmp_path):
    tagger = WD14Tagger(model_dir)
    assert tagger.size == 32
    red = write_image(tmp_path / "red.png", (64, 64), (255, 0, 0))
    result = tagger.tag_image(red)
    assert max(result.rating, key=result.rating.get) == "general"
    assert list(result.rating) == ["general", "sensitive", "questionable", "explicit"]
    general = [t for t, _ in result.general]
    # red_theme 0.9997, excluded_tag 0.993, ^_^ 0.95, long_hair 0.5 >= 0.35; 1girl 0.27 and padded 0.007 are below
    assert general == ["red theme", "excluded tag", "^_^", "long hair"]
    assert result.character == []  # hatsune_miku 0.73 < 0.85


def test_padding_is_white_and_channels_are_bgr(model_dir, tmp_path):
    tagger = WD14Tagger(model_dir)
    wide_red = write_image(tmp_path / "wide.png", (100, 50), (255, 0, 0))
    assert "padded" in [t for t, _ in tagger.tag_image(wide_red).general]
    blue = write_image(tmp_path / "blue.png", (64, 64), (0, 0, 255))
    tags = [t for t, _ in tagger.tag_image(blue).general]
    assert "blue theme" in tags and "red theme" not in tags


def test_mcut_exclusions_and_rating_option(model_dir, tmp_path):
    red = write_image(tmp_path / "red.png", (64, 64), (255, 0, 0))
    options = TaggerOptions(general_mcut=True, character_mcut=True, include_rating=True, exclude=["excluded tag"])
    result = WD14Tagger(model_dir, options).tag_image(red)
    # general probs 0.9997 .9933 .9526 | gap | .5 .269 .0067 0 -> threshold between 0.9526 and 0.5
    assert [t for t, _ in result.general] == ["red theme", "^_^"]
    assert [t for t, _ in result.character] == ["hatsune miku"]  # mcut over (0.73, 0.018)
    assert result.tags(include_rating=True) == ["general", "hatsune miku", "red theme", "^_^"]


def test_mcut_threshold_is_the_midpoint_of_the_largest_gap():
    assert mcut_threshold([0.9, 0.85, 0.3, 0.2]) == pytest.approx(0.575)


def test_underscores_become_spaces_except_in_kaomoji():
    assert display_tag("long_hair") == "long hair"
    assert display_tag("^_^") == "^_^" and display_tag(">_<") == ">_<"


def test_a_tags_file_that_does_not_match_the_model_is_refused(model_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes((model_dir / "model.onnx").read_bytes())
    (broken / "selected_tags.csv").write_text("tag_id,name,category,count\n1,a,0,1\n")
    with pytest.raises(ConfigError, match="lists 1 tags but the model outputs 13"):
        WD14Tagger(broken)
    (broken / "selected_tags.csv").write_text("id,label\n1,a\n")
    with pytest.raises(ConfigError, match="missing column"):
        WD14Tagger(broken)
    with pytest.raises(ConfigError, match="model.onnx: not found"):
        WD14Tagger(tmp_path / "nowhere")


def test_captioner_run_modes_report_bad_images_and_undo(model_dir, tmp_path):
    ds = datasets.create_dataset(Workspace(tmp_path / "ws"), "set")
    write_image(ds.path / "a.png", (64, 64), (255, 0, 0))
    write_image(ds.path / "b.png", (64, 64), (0, 0, 255))
    (ds.path / "b.txt").write_text("mine, blue theme")
    (ds.path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    tagger = WD14Tagger(model_dir, TaggerOptions(exclude=["excluded_tag", "long hair"]))
    progress = []
    report = run_captioner(ds, tagger, "ignore", progress=lambda c, t=None, m="": progress.append((c, t)))
    assert (report.selected, report.written, report.skipped) == (3, 1, 1)
    assert report.errors[0]["image"] == "broken.png" and "cannot decode" in report.errors[0]["error"]
    assert (ds.path / "a.txt").read_text() == "red theme, ^_^"
    assert (ds.path / "b.txt").read_text() == "mine, blue theme"
    assert progress[-1] == (2, 2)

    report = run_captioner(ds, tagger, "append", images=["b.png"])
    assert (ds.path / "b.txt").read_text() == "mine, blue theme, ^_^"  # only the new tag
    report = run_captioner(ds, tagger, "overwrite", images=["b.png"])
    assert (ds.path / "b.txt").read_text() == "blue theme, ^_^"
    undo(ds)
    assert (ds.path / "b.txt").read_text() == "mine, blue theme, ^_^"

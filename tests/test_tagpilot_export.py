"""Export writes a kohya N_name folder + dataset TOML, an AI Toolkit entry, a Diffusion Pipe TOML and the handoff."""

import json
import tomllib

import pytest
import yaml

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.export import ExportOptions, export_dataset, read_handoff
from support.tagpilot import make_dataset_files


@pytest.fixture
def setup(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ds = datasets.create_dataset(ws, "my set")
    make_dataset_files(ds.path, {"a.png": "ohwx, cat", "b.png": "ohwx, dog", "c.png": None})
    datasets.exclude_images(ds, ["c.png"])
    make_dataset_files(ds.path, {"d.png": "cat"})
    return ws, ds


def test_kohya_folder_and_dataset_toml(setup):
    ws, ds = setup
    result = export_dataset(ws, ds, ExportOptions(formats=("kohya",), repeats=5, resolution=768, trigger_word="ohwx"))
    image_dir = ws.outputs / "tagpilot" / "my set" / "kohya" / "img" / "5_ohwx"
    assert sorted(p.name for p in image_dir.iterdir()) == ["a.png", "a.txt", "b.png", "b.txt", "d.png", "d.txt"]
    assert (image_dir / "a.png").stat().st_ino == (ds.path / "a.png").stat().st_ino  # a hard link, not a copy
    config = tomllib.loads((ws.outputs / "tagpilot" / "my set" / "kohya" / "dataset.toml").read_text())
    assert config["general"] == {"caption_extension": ".txt", "shuffle_caption": False, "keep_tokens": 1}
    dataset = config["datasets"][0]
    assert (dataset["resolution"], dataset["batch_size"], dataset["enable_bucket"]) == (768, 1, True)
    assert (dataset["max_bucket_reso"], dataset["bucket_no_upscale"]) == (1536, True)
    subset = dataset["subsets"][0]
    assert subset["image_dir"] == str(image_dir) and subset["num_repeats"] == 5
    assert result.files["kohya_train_data_dir"] == str(image_dir.parent)
    # d.png lacks the trigger word: the export says so
    assert any("1 caption(s) lack the trigger word 'ohwx'" in w for w in result.warnings)


def test_reexport_replaces_the_generated_folder(setup):
    ws, ds = setup
    export_dataset(ws, ds, ExportOptions(formats=("kohya",), repeats=5))
    export_dataset(ws, ds, ExportOptions(formats=("kohya",), repeats=3))
    img = ws.outputs / "tagpilot" / "my set" / "kohya" / "img"
    assert [p.name for p in img.iterdir()] == ["3_my_set"]


def test_ai_toolkit_entry_uses_its_key_names(setup):
    ws, ds = setup
    export_dataset(ws, ds, ExportOptions(formats=("ai-toolkit",), repeats=2, resolution=1024, trigger_word="ohwx"))
    entries = yaml.safe_load((ws.outputs / "tagpilot" / "my set" / "ai-toolkit" / "dataset.yaml").read_text())
    assert entries == [
        {
            "folder_path": str(ds.path),
            "caption_ext": "txt",
            "caption_dropout_rate": 0.0,
            "shuffle_tokens": False,
            "cache_latents_to_disk": True,
            "resolution": [512, 768, 1024],
            "num_repeats": 2,
            "trigger_word": "ohwx",
        }
    ]


def test_diffusion_pipe_dataset_toml(setup):
    ws, ds = setup
    export_dataset(ws, ds, ExportOptions(formats=("diffusion-pipe",), repeats=4, resolution=512))
    config = tomllib.loads((ws.outputs / "tagpilot" / "my set" / "diffusion-pipe" / "dataset.toml").read_text())
    assert config["resolutions"] == [512] and config["enable_ar_bucket"] is True
    assert config["frame_buckets"] == [1]
    assert config["directory"] == [{"path": str(ds.path), "num_repeats": 4}]


def test_handoff_for_trainpilot(setup):
    ws, ds = setup
    export_dataset(ws, ds, ExportOptions(repeats=7, resolution=1024, trigger_word="ohwx"))
    handoff = json.loads(ds.handoff_file.read_text())
    assert handoff == {
        "dataset": "my set",
        "image_dir": str(ds.path),
        "caption_extension": ".txt",
        "num_images": 3,
        "captioned": 3,
        "trigger_word": "ohwx",
        "repeats": 7,
        "resolution": 1024,
    }
    assert read_handoff(ds) == handoff


def test_renaming_a_dataset_points_its_handoff_at_the_new_folder(setup):
    ws, ds = setup
    export_dataset(ws, ds, ExportOptions(repeats=7, trigger_word="ohwx"))
    renamed = datasets.rename_dataset(ws, "my set", "cats")
    datasets.create_dataset(ws, "my set")  # the old name, taken by another dataset
    handoff = read_handoff(renamed)
    assert (handoff["dataset"], handoff["image_dir"]) == ("cats", str(renamed.path))
    assert (handoff["trigger_word"], handoff["repeats"], handoff["num_images"]) == ("ohwx", 7, 3)


def test_bad_options_are_refused(setup):
    ws, ds = setup
    with pytest.raises(LorapilotError, match="unknown export format 'onetrainer'"):
        export_dataset(ws, ds, ExportOptions(formats=("onetrainer",)))
    with pytest.raises(LorapilotError, match="repeats must be between 1 and 10000, got 0"):
        export_dataset(ws, ds, ExportOptions(repeats=0))
    with pytest.raises(LorapilotError, match="trigger word"):
        export_dataset(ws, ds, ExportOptions(trigger_word="a, b"))


def test_export_refuses_to_replace_a_folder_it_did_not_make(setup):
    ws, ds = setup
    foreign = ws.outputs / "tagpilot" / "my set" / "kohya"
    foreign.mkdir(parents=True)
    (foreign / "mine.txt").write_text("user data")
    with pytest.raises(LorapilotError, match="was not made by TagPilot"):
        export_dataset(ws, ds, ExportOptions(formats=("kohya",)))
    assert (foreign / "mine.txt").read_text() == "user data"
    assert not any(p.name.startswith(".") for p in foreign.parent.iterdir())  # no staging folder was even made

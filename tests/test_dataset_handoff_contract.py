"""TagPilot's "train this" handoff has one model (``lorapilot.stack.handoff.DatasetHandoff``) read the same
way by both tools. Before, TagPilot read it with a bare ``json.loads`` (a broken file was a 500 and a
traceback) while TrainPilot checked it its own way."""

from __future__ import annotations

import json

import pytest

from lorapilot.kit.errors import ConfigError
from lorapilot.stack.handoff import DatasetHandoff, handoff_path, read_handoff
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.export import read_handoff as tagpilot_read
from lorapilot.tools.tagpilot.export import write_handoff as tagpilot_write
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.datasets import read_handoff as trainpilot_read
from support.api import make_client
from support.tagpilot import make_dataset_files


@pytest.fixture
def ds(ctx):
    ds = datasets.create_dataset(ctx.workspace, "cats")
    make_dataset_files(ds.path, {"a.png": "ohwx, cat", "b.png": ""})
    handoff_path(ds.path).parent.mkdir(exist_ok=True)
    return ds


def test_what_tagpilot_writes_trainpilot_reads_unchanged(ctx, ds):
    written = tagpilot_write(ds, trigger_word="ohwx", repeats=3)
    assert written == {
        "dataset": "cats",
        "image_dir": str(ds.path.absolute()),
        "caption_extension": ".txt",
        "num_images": 2,
        "captioned": 1,
        "trigger_word": "ohwx",
        "repeats": 3,
        "resolution": None,
    }
    assert tagpilot_read(ds) == written
    assert trainpilot_read(ds.path) == (written, None)
    info = inspect_dataset(ctx.workspace, "cats")
    assert info.trigger_word == "ohwx" and info.handoff_error is None


def test_a_partial_file_keeps_only_what_it_holds_and_unknown_keys_are_ignored(ds):
    handoff_path(ds.path).write_text(json.dumps({"trigger_word": "ohwx", "from_the_future": 1}))
    assert read_handoff(ds.path) == DatasetHandoff(trigger_word="ohwx")
    assert tagpilot_read(ds) == {"trigger_word": "ohwx"} and trainpilot_read(ds.path) == (
        {"trigger_word": "ohwx"},
        None,
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"repeats": "many"}', "repeats:"),
        ('{"num_images": -1}', "num_images:"),
    ],
)
def test_a_broken_file_is_the_same_clear_error_for_both_tools(ctx, ds, content, message):
    path = handoff_path(ds.path)
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as caught:
        tagpilot_read(ds)
    assert str(path) in str(caught.value)
    assert trainpilot_read(ds.path) == (None, str(caught.value))
    assert inspect_dataset(ctx.workspace, "cats").handoff_error == str(caught.value)


def test_the_api_answers_a_broken_handoff_with_400_naming_the_file_and_train_this_replaces_it(ctx, ds):
    handoff_path(ds.path).write_text("{not json")
    client = make_client(ctx)
    reply = client.get("/api/datasets/cats/handoff")
    assert reply.status_code == 400
    assert "handoff.json" in reply.json()["detail"] and "not valid JSON" in reply.json()["detail"]
    # "Train this" writes a good one over it.
    reply = client.post("/api/datasets/cats/handoff", json={"trigger_word": "ohwx"})
    assert reply.status_code == 200 and reply.json()["trigger_word"] == "ohwx"
    assert read_handoff(ds.path).trigger_word == "ohwx"


def test_renaming_a_dataset_retargets_its_handoff(ctx, ds):
    tagpilot_write(ds, trigger_word="ohwx")
    renamed = datasets.rename_dataset(ctx.workspace, "cats", "kittens")
    handoff = read_handoff(renamed.path)
    assert (handoff.dataset, handoff.image_dir, handoff.trigger_word) == (
        "kittens",
        str(renamed.path.absolute()),
        "ohwx",
    )

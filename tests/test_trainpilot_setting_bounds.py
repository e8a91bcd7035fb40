"""A profile and the native trainer's run file bound every shared setting the same way
(``lorapilot.tools.trainpilot.bounds``). Before, the two models drifted: the run file accepted a
negative guidance, a zero text-encoder learning rate or 500 sample steps that a profile refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lorapilot.tools.trainpilot import profiles
from lorapilot.tools.trainpilot.native import config as native

# (profile section, run-file section): the sections that hold the same settings under the same names.
SECTIONS = [
    (profiles.DatasetRef, native.DatasetSettings),
    (profiles.NetworkSettings, native.NetworkSettings),
    (profiles.OptimSettings, native.OptimSettings),
    (profiles.TrainingSettings, native.TrainingSettings),
    (profiles.SaveSettings, native.SaveSettings),
    (profiles.SampleSettings, native.SampleSettings),
    (profiles.Profile, native.NativeTrainConfig),
]
# Settings whose allowed values differ on purpose: the native trainer alone has "sgd"; a profile names its
# regularization dataset, the native run file gets that dataset's resolved folder.
DIFFERENT_ON_PURPOSE = {("OptimSettings", "optimizer"), ("Profile", "regularization")}


def _shared_fields():
    for profile_model, native_model in SECTIONS:
        for name in sorted(set(profile_model.model_fields) & set(native_model.model_fields)):
            nested = hasattr(profile_model.model_fields[name].annotation, "model_fields")  # compared via SECTIONS
            if not nested and (profile_model.__name__, name) not in DIFFERENT_ON_PURPOSE:
                yield profile_model, native_model, name


def _constraints(model, name):
    field = model.model_fields[name]
    return field.annotation, sorted(map(repr, field.metadata))


@pytest.mark.parametrize(
    ("profile_model", "native_model", "name"), list(_shared_fields()), ids=lambda x: getattr(x, "__name__", x)
)
def test_a_shared_setting_has_one_set_of_bounds(profile_model, native_model, name):
    assert _constraints(profile_model, name) == _constraints(native_model, name)


@pytest.mark.parametrize(
    ("section", "values"),
    [
        ("sample", {"guidance": -1.0}),
        ("sample", {"steps": 500}),
        ("network", {"text_encoder_lr": 0.0}),
        ("training", {"steps": 10, "batch_size": 1000}),
        ("dataset", {"image_dir": "imgs", "repeats": 5000}),
        ("dataset", {"image_dir": "imgs", "caption_extension": "txt"}),
    ],
)
def test_the_run_file_refuses_what_a_profile_refuses(section, values):
    data = {
        "name": "run",
        "output_dir": "out",
        "model": {"pretrained": "m"},
        "dataset": {"image_dir": "imgs"},
        "training": {"steps": 10},
    }
    data[section] = {**data.get(section, {}), **values}
    with pytest.raises(ValidationError):
        native.NativeTrainConfig.model_validate(data)

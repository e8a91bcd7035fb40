"""Regularization sets: TagPilot marks a dataset as one (API, CLI), a TrainPilot profile names it, validation checks it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lorapilot.cli import cli
from lorapilot.kit.errors import ConfigError
from lorapilot.tools.tagpilot.dataset import open_dataset
from lorapilot.tools.tagpilot.metadata import mark_regularization, read_meta
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef, RegularizationRef
from lorapilot.tools.trainpilot.runspec import build_spec
from lorapilot.tools.trainpilot.validate import validate_profile
from support.api import make_client
from support.tagpilot import make_dataset_files
from support.trainpilot import make_dataset, make_train_workspace


def test_the_api_marks_and_unmarks_a_regularization_set(ctx):
    client = make_client(ctx)
    client.post("/api/tagpilot/datasets", json={"name": "cat-class"})
    assert client.get("/api/tagpilot/datasets/cat-class").json()["regularization"] is False
    reply = client.put("/api/tagpilot/datasets/cat-class/regularization", json={"regularization": True})
    assert reply.status_code == 200 and reply.json() == {"name": "cat-class", "regularization": True}
    assert client.get("/api/tagpilot/datasets").json()[0]["regularization"] is True
    assert client.get("/api/tagpilot/datasets/cat-class").json()["regularization"] is True
    assert json.loads((ctx.workspace.datasets / "cat-class" / ".tagpilot" / "dataset.json").read_text()) == {
        "regularization": True
    }
    assert (
        client.put("/api/tagpilot/datasets/cat-class/regularization", json={"regularization": False}).json()[
            "regularization"
        ]
        is False
    )
    bad = client.put("/api/tagpilot/datasets/cat-class/regularization", json={"regularization": "maybe"})
    assert bad.status_code == 422
    assert client.put("/api/tagpilot/datasets/nope/regularization", json={"regularization": True}).status_code == 404


def test_the_cli_marks_a_regularization_set(ctx, tmp_path):
    make_dataset_files(ctx.workspace.datasets / "cat-class", {"a.png": "cat"})
    runner = CliRunner()
    ws = ["--workspace", str(ctx.workspace.root)]
    result = runner.invoke(cli, ["dataset", "mark-reg", "cat-class", *ws])
    assert result.exit_code == 0 and "cat-class: regularization set" in result.output
    assert "[regularization]" in runner.invoke(cli, ["dataset", "list", *ws]).output
    result = runner.invoke(cli, ["dataset", "mark-reg", "cat-class", "--off", *ws])
    assert result.exit_code == 0 and "cat-class: training set" in result.output
    assert read_meta(open_dataset(ctx.workspace, "cat-class")).regularization is False


def test_a_broken_dataset_json_names_the_file_and_field(ctx):
    make_dataset_files(ctx.workspace.datasets / "x", {"a.png": "cat"})
    ds = open_dataset(ctx.workspace, "x")
    ds.state_dir.mkdir(exist_ok=True)
    (ds.state_dir / "dataset.json").write_text('{"regularization": "often"}')
    with pytest.raises(ConfigError, match=r"dataset\.json: regularization"):
        read_meta(ds)
    (ds.state_dir / "dataset.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not JSON"):
        mark_regularization(ds)
    assert (ds.state_dir / "dataset.json").read_text() == "{nope"  # nothing overwritten


def _profile(ctx, trainer="kohya", reg=None):
    profile = build_profile(
        name="mycat",
        family="sd15",
        quality="regular",
        vram_gb=12,
        trainer=trainer,
        model=ModelRef(base="checkpoints/sd15-base.safetensors"),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
    )
    profile.regularization = reg
    return profile


def test_a_profile_names_its_regularization_set_and_validation_checks_it(tmp_path):
    ctx = make_train_workspace(tmp_path)
    make_dataset(ctx.workspace.root, "cat-class", images=3)
    profile = _profile(ctx, reg=RegularizationRef(name="cat-class", repeats=2, weight=0.8))
    assert [i for i in validate_profile(ctx, profile) if i.level == "error"] == []
    spec = build_spec(ctx, profile, tmp_path / "run")
    assert spec.reg_image_dir == ctx.workspace.datasets / "cat-class"

    def errors(p):
        return {(i.field, i.message) for i in validate_profile(ctx, p) if i.level == "error"}

    assert any(
        f == "regularization.name" and "'nope'" in m
        for f, m in errors(_profile(ctx, reg=RegularizationRef(name="nope")))
    )
    assert any(
        f == "regularization.name" and "training dataset itself" in m
        for f, m in errors(_profile(ctx, reg=RegularizationRef(name="cats")))
    )
    (ctx.workspace.datasets / "empty").mkdir()
    assert any(
        f == "regularization.name" and "is empty" in m
        for f, m in errors(_profile(ctx, reg=RegularizationRef(name="empty")))
    )
    assert any(
        f == "regularization.name" and "Diffusion Pipe" in m
        for f, m in errors(_profile(ctx, trainer="diffusion-pipe", reg=RegularizationRef(name="cat-class")))
    )


def test_a_profile_with_a_regularization_set_round_trips_through_toml(tmp_path):
    import tomllib

    from lorapilot.tools.trainpilot.profiles import profile_from_dict

    ctx = make_train_workspace(tmp_path)
    profile = _profile(ctx, reg=RegularizationRef(name="cat-class", repeats=2, weight=0.8, class_tokens="cat"))
    again = profile_from_dict(tomllib.loads(profile.to_toml()))
    assert again.regularization == profile.regularization
    with pytest.raises(Exception, match="regularization.weight"):
        profile_from_dict({**tomllib.loads(profile.to_toml()), "regularization": {"name": "cat-class", "weight": 0}})

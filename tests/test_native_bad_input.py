"""Mistakes in a run's settings stop the native trainer before training, with exit code 2 and the field named."""

from __future__ import annotations

import pytest

from lorapilot.tools.trainpilot.native.cli import main
from support.native_runs import base_config, tiny_sd1, write_config  # noqa: F401  (tiny_sd1 is a fixture)


def _run(tmp_path, config, capsys) -> tuple[int, str]:
    path = write_config(tmp_path / "run.toml", config)
    code = main(["--config", str(path)])
    return code, capsys.readouterr().err


def test_an_empty_image_folder(tiny_sd1, tmp_path, capsys):  # noqa: F811
    (tmp_path / "empty").mkdir()
    config = base_config(tiny_sd1, tmp_path / "out")
    config["dataset"]["image_dir"] = str(tmp_path / "empty")
    code, err = _run(tmp_path, config, capsys)
    assert code == 2 and f"dataset.image_dir: {tmp_path / 'empty'} holds no images" in err


def test_a_missing_base_model(tiny_sd1, tmp_path, capsys):  # noqa: F811
    config = base_config(tiny_sd1, tmp_path / "out")
    config["model"]["pretrained"] = str(tmp_path / "nowhere")
    code, err = _run(tmp_path, config, capsys)
    assert code == 2 and f"model.pretrained: {tmp_path / 'nowhere'} does not exist" in err


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("dataset", {"bucket_step": 8}, "dataset.bucket_step: 8 is not a multiple of 16 for this model"),
        ("network", {"target_modules": ["nope"]}, "network.target_modules: none of ['nope'] names a module"),
        ("optim", {"optimizer": "prodigy"}, "optim.optimizer: 'prodigy' needs the prodigyopt package"),
        ("training", {"attention": "xformers"}, "training.attention: xformers"),
    ],
)
def test_settings_the_model_or_environment_cannot_honour(tiny_sd1, tmp_path, capsys, section, values, message):  # noqa: F811
    config = base_config(tiny_sd1, tmp_path / "out")
    config[section].update(values)
    code, err = _run(tmp_path, config, capsys)
    assert code == 2 and message in err

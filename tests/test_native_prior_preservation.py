"""The native trainer's prior-preservation loss: a class batch from the regularization set joins every micro-batch."""

from __future__ import annotations

import pytest

from lorapilot.tools.trainpilot.native.cli import main
from support.native_runs import (  # noqa: F401  (tiny_sd1 is a fixture)
    base_config,
    fixed_batch_loss,
    load_sd1,
    run_trainer,
    steps_of,
    tiny_sd1,
    write_config,
)
from support.tiny_sd import make_dataset

# Two real runs on the CPU: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

STEPS = 6  # the shared CI machine is slow; six steps at lr 1e-2 already move the class images


@pytest.fixture(scope="module")
def class_images(tmp_path_factory):
    """Regularization images: other pictures, captioned with the class only (no trigger word)."""
    path = make_dataset(tmp_path_factory.mktemp("reg") / "class", count=4, seed=7)
    for caption in path.glob("*.txt"):
        caption.write_text(caption.read_text().replace("tok, ", ""), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tiny_sd1, class_images, tmp_path_factory):  # noqa: F811
    """The same run twice: without and with a regularization set (prior_loss_weight 1.0)."""
    root = tmp_path_factory.mktemp("prior")
    small = {"steps": STEPS, "batch_size": 1}
    plain = write_config(root / "plain.toml", base_config(tiny_sd1, root / "plain"), training=small)
    prior = write_config(
        root / "prior.toml",
        base_config(tiny_sd1, root / "prior"),
        training=small,
        regularization={"image_dir": str(class_images), "repeats": 2, "prior_loss_weight": 1.0},
    )
    results = {name: run_trainer(path, timeout=900) for name, path in (("plain", plain), ("prior", prior))}
    for name, result in results.items():
        assert result.returncode == 0, (name, result.stderr[-3000:])
    return root, results


def test_a_run_with_a_regularization_set_trains_every_step(runs):
    root, results = runs
    assert steps_of(results["prior"].stdout) == list(range(1, STEPS + 1))
    assert (root / "prior" / "tiny.safetensors").is_file()
    # the class images' latents were cached beside the instance latents
    assert len(list((root / "prior" / "cache" / "reg-latents").iterdir())) >= 4


def test_the_prior_loss_keeps_the_class_images_closer_to_the_base(runs, tiny_sd1, class_images):  # noqa: F811
    root, _ = runs
    with_prior = fixed_batch_loss(load_sd1(tiny_sd1.model, root / "prior" / "tiny.safetensors"), class_images)
    without = fixed_batch_loss(load_sd1(tiny_sd1.model, root / "plain" / "tiny.safetensors"), class_images)
    assert with_prior < without, (with_prior, without)


def test_an_empty_regularization_folder_is_named(tiny_sd1, tmp_path, capsys):  # noqa: F811
    (tmp_path / "empty").mkdir()
    config = base_config(tiny_sd1, tmp_path / "out")
    config["regularization"] = {"image_dir": str(tmp_path / "empty")}
    code = main(["--config", str(write_config(tmp_path / "run.toml", config))])
    err = capsys.readouterr().err
    assert code == 2 and f"regularization.image_dir: {tmp_path / 'empty'} holds no images" in err


def test_a_bad_prior_loss_weight_is_named(tiny_sd1, class_images, tmp_path, capsys):  # noqa: F811
    config = base_config(tiny_sd1, tmp_path / "out")
    config["regularization"] = {"image_dir": str(class_images), "prior_loss_weight": 0}
    code = main(["--config", str(write_config(tmp_path / "run.toml", config))])
    err = capsys.readouterr().err
    assert code == 2 and "regularization.prior_loss_weight" in err

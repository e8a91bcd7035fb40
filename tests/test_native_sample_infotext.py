"""The native trainer's sample images say how they were made (A1111 ``parameters``), so MediaPilot,
A1111/Forge and ComfyUI's loaders can read the prompt, seed, steps and size back from the file."""

from __future__ import annotations

import pytest
from support.native_runs import base_config, run_trainer, tiny_sd1, write_config  # noqa: F401  (fixture)

from lorapilot.mediapilot.meta import extract
from lorapilot.mediapilot.probe import probe_file

pytestmark = pytest.mark.slow

PROMPTS = ["tok, red, square", "tok, blue: stripe, \"quoted\""]


def test_samples_carry_their_generation_parameters(tiny_sd1, tmp_path):  # noqa: F811
    config = write_config(
        tmp_path / "run.toml",
        base_config(tiny_sd1, tmp_path / "out", steps=2),
        sample={"prompts": PROMPTS, "every_n_steps": 2, "steps": 3, "seed": 77, "guidance": 5.5,
                "negative_prompt": "blurry, text", "width": 48, "height": 64},
        save={"every_n_steps": 2},
    )
    result = run_trainer(config)
    assert result.returncode == 0, result.stderr[-3000:]

    for index, prompt in enumerate(PROMPTS):
        path = tmp_path / "out" / "samples" / f"000002_{index}.png"
        probe = probe_file(path)
        assert probe.errors == [] and (probe.width, probe.height) == (48, 64)
        info, problems = extract(probe.texts, path.name)
        assert problems == [] and info is not None, probe.texts
        assert (info.positive, info.negative) == (prompt, "blurry, text")
        assert (info.seed, info.steps, info.cfg, info.width, info.height) == (77 + index, 3, 5.5, 48, 64)
        assert info.sampler == "Euler" and info.model == "model"  # the base model's folder name
        assert info.extra["Training step"] == "2" and info.extra["LoRA"] == "tiny"

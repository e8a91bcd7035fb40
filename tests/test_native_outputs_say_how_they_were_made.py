"""The native trainer's outputs say how they were made: sample images carry A1111 ``parameters`` (MediaPilot,
A1111/Forge and ComfyUI read the prompt, seed, steps and size back), and the LoRA records the trigger word
(``modelspec.trigger_phrase``, which the model store, A1111 and CivitAI show)."""

from __future__ import annotations

import pytest
from safetensors import safe_open

from lorapilot.tools.mediapilot.meta import extract
from lorapilot.tools.mediapilot.probe import probe_file
from support.native_runs import base_config, run_trainer, tiny_sd1, write_config  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

PROMPTS = ["tok, red, square", 'tok, blue: stripe, "quoted"']


def test_samples_carry_their_parameters_and_the_lora_its_trigger_word(tiny_sd1, tmp_path):  # noqa: F811
    config = write_config(
        tmp_path / "run.toml",
        base_config(tiny_sd1, tmp_path / "out", steps=2),
        sample={
            "prompts": PROMPTS,
            "every_n_steps": 2,
            "steps": 3,
            "seed": 77,
            "guidance": 5.5,
            "negative_prompt": "blurry, text",
            "width": 48,
            "height": 64,
        },
        save={"every_n_steps": 2},
        dataset={"trigger_word": "tok"},
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

    with safe_open(str(tmp_path / "out" / "tiny.safetensors"), "pt") as fh:
        assert fh.metadata()["modelspec.trigger_phrase"] == "tok"

"""Run settings, state folders, progress lines and stop requests of the native trainer (no model needed)."""

from __future__ import annotations

import io
import json
import os
import signal

import pytest

from lorapilot.kit.errors import ConfigError
from lorapilot.tools.trainpilot.native import state as states
from lorapilot.tools.trainpilot.native.config import load_config
from lorapilot.tools.trainpilot.native.events import Reporter
from lorapilot.tools.trainpilot.native.stopping import StopRequest
from support.native_runs import events

MINIMAL = """
name = "demo"
output_dir = "out"
[model]
pretrained = "models/base"
[dataset]
image_dir = "data"
[training]
steps = 10
"""


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    path = tmp_path / "runs" / "run.toml"
    path.parent.mkdir()
    path.write_text(MINIMAL.replace('output_dir = "out"', 'output_dir = "out"\nlogging_dir = "/abs/tb"'))
    config = load_config(path)
    assert str(config.logging_dir) == "/abs/tb"
    assert config.output_dir == tmp_path / "runs" / "out"
    assert config.model.pretrained == tmp_path / "runs" / "models" / "base"
    assert config.dataset.image_dir == tmp_path / "runs" / "data"
    assert config.save.precision == "fp16" and config.network.rank == 16


def test_a_bad_value_names_the_file_and_field(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(MINIMAL.replace("steps = 10", "steps = 0"))
    with pytest.raises(ConfigError, match=r"run\.toml: training\.steps: .*greater than or equal to 1"):
        load_config(path)


def test_an_unknown_key_is_refused(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(MINIMAL + "[network]\nrnak = 4\n")
    with pytest.raises(ConfigError, match=r"network\.rnak: unknown key"):
        load_config(path)


def test_flux_with_text_encoder_training_is_refused(tmp_path):
    path = tmp_path / "run.toml"
    flux = MINIMAL.replace('pretrained = "models/base"', 'pretrained = "m"\nfamily = "flux1"')
    path.write_text(flux + "[network]\ntrain_text_encoder = true\n")
    with pytest.raises(ConfigError, match="train_text_encoder: not supported for family flux1"):
        load_config(path)


def test_progress_and_event_lines_follow_the_contract():
    stream = io.StringIO()
    reporter = Reporter(total=1000, stream=stream)
    reporter.start(119)
    reporter.step(120, 0.0871, 1e-4)
    reporter.checkpoint(120, "/o/x-step00000120.safetensors")
    reporter.sample(120, "/o/samples/000120_0.png")
    reporter.done("/o/x.safetensors")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[trainpilot] step=120 total=1000 loss=0.087100 lr=1.000e-04 its=")
    assert lines[1:] == [
        "[trainpilot] checkpoint step=120 path=/o/x-step00000120.safetensors",
        "[trainpilot] sample step=120 path=/o/samples/000120_0.png",
        "[trainpilot] done path=/o/x.safetensors",
    ]
    assert [e["kind"] for e in events(stream.getvalue())] == ["step", "checkpoint", "sample", "done"]


def test_only_the_main_process_prints():
    stream = io.StringIO()
    Reporter(total=5, enabled=False, stream=stream).done("/x")
    assert stream.getvalue() == ""


def _state(root, step, complete=True):
    folder = root / f"state-step{step:08d}"
    folder.mkdir(parents=True)
    if complete:
        (folder / states.TRAINER_STATE).write_text(json.dumps({"step": step}))
    return folder


def test_resume_auto_takes_the_newest_complete_state(tmp_path):
    _state(tmp_path, 10)
    newest = _state(tmp_path, 20)
    _state(tmp_path, 30, complete=False)  # killed while saving
    (tmp_path / "state-step00000040.partial").mkdir()
    assert states.resolve_resume("auto", tmp_path) == newest
    assert states.resolve_resume(None, tmp_path) is None
    assert states.resolve_resume("auto", tmp_path / "empty") is None


def test_pruning_keeps_the_newest_states(tmp_path):
    for step in (5, 10, 15, 20):
        _state(tmp_path, step)
    removed = states.prune_states(tmp_path, keep=2)
    assert [p.name for p in removed] == ["state-step00000005", "state-step00000010"]
    assert [s for s, _ in states.list_states(tmp_path)] == [15, 20]


def test_finishing_a_state_moves_it_into_place_whole(tmp_path):
    final = tmp_path / "state-step00000007"
    partial = states.partial_dir(final)
    partial.mkdir()
    (partial / "optimizer.bin").write_bytes(b"x")
    states.finish_state(partial, final, {"step": 7})
    assert not partial.exists()
    assert states.read_trainer_state(final)["step"] == 7 and (final / "optimizer.bin").is_file()


def test_a_changed_adapter_shape_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="target_modules was"):
        states.check_compatible(
            {"family": "sd1", "rank": 4, "target_modules": ["to_q"], "text_encoders_trained": [False]},
            {"family": "sd1", "rank": 4, "target_modules": ["to_k"], "text_encoders_trained": [False]},
            tmp_path,
        )


def test_stop_requests_come_from_signals_and_the_save_quit_file(tmp_path):
    stop = StopRequest(tmp_path)
    assert not stop.requested
    (tmp_path / "save_quit").touch()
    assert stop.requested
    stop.clear_file()
    assert not stop.requested
    stop.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal does not force an exit
        assert stop.requested and stop.signalled == signal.SIGTERM
    finally:
        stop.uninstall()
    assert signal.getsignal(signal.SIGTERM) is not stop._on_signal

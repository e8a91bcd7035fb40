"""A TrainPilot job with ``--trainer diffusion-pipe`` runs the real Diffusion Pipe ``train.py`` (pinned tree
plus its submodules from ../shared/vendor/) through DeepSpeed's own launcher, as far as upstream code
permits without a GPU.

How far that is: the ``deepspeed`` runner finds no GPU, sets DeepSpeed's accelerator to CPU and starts
``train.py --deepspeed --config main.toml`` (our rendered files); train.py's first imports stop it.
``utils/dataset.py`` line 28 imports ComfyUI's ``comfy.model_management``, which asks CUDA for the
current device at import time (``comfy/model_management.py``: ``total_vram =
get_total_memory(get_torch_device())``), before train.py reads its config. Later, train.py line 299
calls ``torch.cuda.set_device(local_rank)`` unconditionally. Upstream code is not patched."""

from __future__ import annotations

import pytest

from lorapilot.tools.trainpilot import actions
from support.trainpilot import run_queue_to_the_end
from upstream import _trainers

pytestmark = [pytest.mark.upstream, pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def diffusion_pipe():
    """(environment, source tree) of the pinned Diffusion Pipe with its submodules."""
    src = _trainers.diffusion_pipe_tree()
    return _trainers.build_env("diffusion-pipe", _trainers.requirements_of(src)), src


def test_train_py_starts_under_deepspeed_and_stops_at_its_cuda_only_import(tmp_path, diffusion_pipe, monkeypatch):
    env, src = diffusion_pipe
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ctx, profile = _trainers.tiny_trainer_job(
        tmp_path, "diffusion-pipe", env, src, name="dp-shapes", family="flux1", vram_gb=24, base="tiny-flux"
    )
    _job, warnings = actions.submit(ctx, profile)
    assert [w.to_dict() for w in warnings if w.level == "error"] == []

    done = run_queue_to_the_end(ctx, timeout=900)
    log = done.log_path.read_text(errors="replace")
    assert done.state == "failed", log[-3000:]
    run_dir = done.run_path
    # DeepSpeed's runner accepted our command line and started train.py on our rendered config ...
    assert "Setting accelerator to CPU" in log
    assert f"train.py --deepspeed --config {run_dir / 'main.toml'}" in log
    assert "process" in log and "spawned with command" in log
    # ... whose first imports stop it: ComfyUI's model management queries CUDA at import time.
    assert (
        'diffusion-pipe/utils/dataset.py", line 28, in <module>' in log and "import comfy.model_management as mm" in log
    )
    assert "total_vram = get_total_memory(get_torch_device())" in log
    assert "RuntimeError: Found no NVIDIA driver on your system." in log
    assert "exits with return code = 1" in log

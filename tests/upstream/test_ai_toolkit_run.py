"""A TrainPilot job with ``--trainer ai-toolkit`` runs the real AI Toolkit ``run.py`` (pinned tree from
../shared/vendor/) on our rendered job.yaml, as far as upstream code permits without a GPU.

How far that is: run.py reads the YAML and starts the ``extension`` job, whose constructor imports
every built-in extension; one of them, OmniGen2's Triton layer norm
(``extensions_built_in/diffusion_models/omnigen2/src/ops/triton/layer_norm.py``, line 46), calls
``torch.cuda.current_device()`` at import time. So on a machine without an NVIDIA driver no AI Toolkit
job of any model starts: the test asserts that exact failure, and the queue reports it. Upstream
code is not patched. Beyond that, AI Toolkit's own config classes (``toolkit/config_modules.py``)
read the rendered process the way ``BaseSDTrainProcess.__init__`` does, proving every value lands
where we meant it."""

from __future__ import annotations

import json
import textwrap

import pytest

from lorapilot.tools.trainpilot import actions
from support.trainpilot import run_queue_to_the_end
from upstream import _trainers

pytestmark = [pytest.mark.upstream, pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(1200)]
CPU_BLOCKER = "extensions_built_in/diffusion_models/omnigen2/src/ops/triton/layer_norm.py"


@pytest.fixture(scope="module")
def ai_toolkit():
    """(environment, source tree) of the pinned AI Toolkit."""
    src = _trainers.extract("ai-toolkit")
    return _trainers.build_env("ai-toolkit", _trainers.ai_toolkit_requirements(src)), src


@pytest.fixture
def job_ctx(tmp_path, ai_toolkit, monkeypatch):
    env, src = ai_toolkit
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ctx, profile = _trainers.tiny_trainer_job(
        tmp_path, "ai-toolkit", env, src, name="ait-shapes", family="sd15", vram_gb=8, base="tiny-sd1"
    )
    profile.optim.min_snr_gamma = None
    profile.training.mixed_precision, profile.training.gradient_checkpointing = "no", False
    return ctx, profile


def test_run_py_reads_our_job_and_stops_at_its_cuda_only_import(job_ctx):
    ctx, profile = job_ctx
    _job, warnings = actions.submit(ctx, profile)
    assert [w.to_dict() for w in warnings if w.level == "error"] == []
    done = run_queue_to_the_end(ctx, timeout=900)
    log = done.log_path.read_text(errors="replace")
    assert done.state == "failed", log[-3000:]
    # run.py parsed job.yaml (one job) and got as far as building the extension job ...
    assert "Running 1 job" in log and "jobs/ExtensionJob.py" in log and "get_all_extensions" in log
    # ... where an extension's import-time CUDA query stops it: the exact upstream line and error.
    assert f'{CPU_BLOCKER}", line 46, in triton_autotune_configs' in log
    assert "torch.cuda.get_device_properties(torch.cuda.current_device())" in log
    assert "RuntimeError: Found no NVIDIA driver on your system." in log
    assert done.error == "AI Toolkit exited with code 1", done.error


PROBE = textwrap.dedent("""
    import json, sys, yaml
    from toolkit.config_modules import DatasetConfig, ModelConfig, NetworkConfig, SampleConfig, SaveConfig, TrainConfig
    process = yaml.safe_load(open(sys.argv[1]))["config"]["process"][0]
    train, model = TrainConfig(**process["train"]), ModelConfig(**process["model"])
    net, save = NetworkConfig(**process["network"]), SaveConfig(**process["save"])
    sample, data = SampleConfig(**process["sample"]), DatasetConfig(**process["datasets"][0])
    print(json.dumps({
        "steps": train.steps, "lr": train.lr, "optimizer": train.optimizer, "batch_size": train.batch_size,
        "dtype": train.dtype, "noise_scheduler": train.noise_scheduler, "train_text_encoder": train.train_text_encoder,
        "model": model.name_or_path, "arch": model.arch, "rank": net.linear, "alpha": net.linear_alpha,
        "save_every": save.save_every, "save_dtype": save.dtype, "sample_every": sample.sample_every,
        "sample_size": [sample.width, sample.height], "folder": data.folder_path, "caption_ext": data.caption_ext,
        "resolution": data.resolution,
    }))
""")


def test_ai_toolkit_config_classes_read_our_values(job_ctx, ai_toolkit, tmp_path):
    ctx, profile = job_ctx
    env, src = ai_toolkit
    from lorapilot.tools.trainpilot.adapters import get_adapter
    from lorapilot.tools.trainpilot.runspec import build_spec

    spec = build_spec(ctx, profile, tmp_path / "run")
    get_adapter("ai-toolkit").write_config(spec)
    result = _trainers.run_python(env, ["-c", PROBE, str(spec.run_dir / "job.yaml")], cwd=src, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    read = json.loads(result.stdout.strip().splitlines()[-1])
    root = ctx.workspace.root
    assert read == {
        "steps": 4,
        "lr": 0.01,
        "optimizer": "adamw",
        "batch_size": 2,
        "dtype": "fp32",
        "noise_scheduler": "ddpm",
        "train_text_encoder": False,
        "model": str(root / "models" / "diffusers" / "tiny-sd1"),
        "arch": "sd1",
        "rank": 4,
        "alpha": 8.0,
        "save_every": 2,
        "save_dtype": "float32",
        "sample_every": 4,
        "sample_size": [64, 64],
        "folder": str(root / "datasets" / "shapes"),
        "caption_ext": ".txt",
        "resolution": [64],
    }

"""Training without caches, with gradient accumulation, a warm-up + cosine schedule and noise offset."""

from __future__ import annotations

import pytest

from support.native_runs import (  # noqa: F401  (tiny_sd1 is a fixture)
    base_config,
    events,
    run_trainer,
    steps_of,
    tiny_sd1,
    write_config,
)

pytestmark = pytest.mark.slow


def test_uncached_accumulated_run_follows_the_schedule(tiny_sd1, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "run.toml",
        base_config(tiny_sd1, out, steps=6),
        dataset={"cache_latents": False, "cache_text": False, "buckets": False, "repeats": 2, "caption_dropout": 0.5},
        optim={"lr_scheduler": "cosine", "warmup_steps": 2, "noise_offset": 0.05, "min_snr_gamma": 5.0},
        training={"gradient_accumulation": 2, "batch_size": 3},
    )
    result = run_trainer(config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert steps_of(result.stdout) == [1, 2, 3, 4, 5, 6]
    # One schedule step per optimizer step (not per micro-batch): warm-up to 1e-2, then cosine to 0.
    lrs = [float(e["lr"]) for e in events(result.stdout) if e["kind"] == "step"]
    assert lrs[:2] == pytest.approx([5e-3, 1e-2])
    assert lrs[2:] == pytest.approx(sorted(lrs[2:], reverse=True)) and lrs[-1] == pytest.approx(0.0, abs=1e-9)
    assert (out / "tiny.safetensors").is_file()
    assert not (out / "cache").exists()  # nothing cached

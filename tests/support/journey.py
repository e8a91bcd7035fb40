"""The cross-area journey: a folder of captioned images → dataset → LoRA → samples in the gallery.

Shared by the API journey (tests/test_journey_api.py) and the browser journey
(tests/test_journey_browser.py): the workspace, the source images, a tiny SD1 pipeline in the
model store and the settings that make a preset's profile train in seconds on a CPU.
"""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path

from lorapilot.stack.context import Context

from .tiny_sd import TINY_BUCKET_STEP, build_tiny_sd1, make_dataset
from .workspaces import make_workspace

DATASET = "shapes"
TRIGGER = "ohwx"
BASE_MODEL = "diffusers/tiny-sd1"  # as the model store and TrainPilot's picker name it
LORA_NAME = "shapes-ohwx"
STEPS = 16
RANK, ALPHA = 4, 8.0
SAMPLE_EVERY = 8

# What changes in a preset's profile so it trains the tiny pipeline on a CPU in seconds: the tiny
# model's sizes (64 px, 16 px buckets), plain AdamW in float32, few steps, 3 sampler steps.
TINY_OVERRIDES = {
    "dataset": {"resolution": 64, "min_bucket": 32, "max_bucket": 96, "bucket_step": TINY_BUCKET_STEP},
    "network": {"rank": RANK, "alpha": ALPHA},
    "optim": {
        "optimizer": "adamw",
        "learning_rate": 1e-2,
        "lr_scheduler": "constant",
        "warmup_steps": 0,
        "min_snr_gamma": None,
    },
    "training": {"steps": STEPS, "batch_size": 2, "mixed_precision": "no", "gradient_checkpointing": False},
    "save": {"every_n_steps": SAMPLE_EVERY},
    "sample": {"every_n_steps": SAMPLE_EVERY, "steps": 3, "width": 64, "height": 64},
}


def journey_workspace(root: Path) -> Context:
    """A workspace running ControlPilot and TensorBoard, login required even on loopback."""
    return make_workspace(
        root,
        enabled={"controlpilot", "tensorboard"},
        settings={
            "controlpilot": {"auth": "always", "telemetry_interval_s": 2},
            "trainpilot": {"poll_interval_s": 0.3},
        },
    )


def source_images(folder: Path) -> Path:
    """Eight small captioned images (``imgNN.png`` + ``imgNN.txt``), as a user brings them."""
    return make_dataset(folder, count=8)


def zip_folder(folder: Path, target: Path) -> Path:
    """Zip ``folder``'s files (flat) into ``target``."""
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, arcname=path.name)
    return target


def install_tiny_base_model(ctx: Context) -> Path:
    """A randomly initialised SD1 diffusers pipeline in ``models/diffusers/tiny-sd1`` (what a pull would leave)."""
    return build_tiny_sd1(ctx.workspace.models / "diffusers" / "tiny-sd1")


def tiny_profile(profile: dict) -> dict:
    """``profile`` (JSON, as the draft API returns it) with :data:`TINY_OVERRIDES` applied."""
    out = copy.deepcopy(profile)
    for section, values in TINY_OVERRIDES.items():
        out.setdefault(section, {}).update(values)
    return out

"""Training samples: which LoRA a sample image was rendered with.

TrainPilot runs job N of profile NAME in ``outputs/trainpilot/NNNN-NAME/`` (``trainpilot.queue``) and installs
the result as ``models/loras/NAME.safetensors``. Every trainer writes its samples somewhere under that run's
``output/`` in a ``samples/`` (native, AI Toolkit) or ``sample/`` (Kohya) folder. Kohya's and AI Toolkit's
samples carry no metadata at all, so the run folder is what ties a sample to its LoRA.
"""

from __future__ import annotations

import re

from lorapilot.tools.mediapilot.meta.model import GenInfo

SOURCE = "trainpilot"
# The run folder may sit at the root (outputs/) or below it (a root that holds a workspace's outputs/).
_SAMPLE = re.compile(r"(?:^|/)trainpilot/(?P<run>\d+-(?P<name>[^/]+))/output/(?:[^/]+/)*samples?/[^/]+$")


def training_run(rel: str) -> tuple[str, str] | None:
    """(run folder, LoRA name) when ``rel`` is a training sample, else None."""
    match = _SAMPLE.search(rel)
    return (match.group("run"), match.group("name")) if match else None


def mark_training_sample(info: GenInfo | None, rel: str) -> GenInfo | None:
    """For a training sample: source ``trainpilot`` and its LoRA (whatever else its metadata said)."""
    run = training_run(rel)
    if run is None:
        return info
    info = info or GenInfo(source=SOURCE)
    info.source = SOURCE
    info.add_lora(run[1])
    info.extra.setdefault("training_run", run[0])
    return info

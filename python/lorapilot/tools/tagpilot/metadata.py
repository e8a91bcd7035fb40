"""A dataset's own settings, kept in ``.tagpilot/dataset.json``: for now, whether it is a regularization set.

A regularization (class) set holds pictures of the class without the subject; TrainPilot profiles name one
under ``[regularization]`` and each trainer renders it its own way (see docs/trainpilot.md).
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.models import CheckedModel
from lorapilot.kit.tomlconfig import describe_validation_error
from lorapilot.tools.tagpilot.dataset import Dataset

META_FILE = "dataset.json"


class DatasetMeta(CheckedModel):
    regularization: bool = False  # a set of class images for prior preservation, not a training set


def read_meta(ds: Dataset) -> DatasetMeta:
    """The dataset's settings (defaults when none were saved); a broken file raises ConfigError naming it."""
    path = ds.state_dir / META_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return DatasetMeta()
    try:
        return DatasetMeta.model_validate(json.loads(text))
    except ValueError as exc:
        detail = describe_validation_error(exc) if isinstance(exc, ValidationError) else f"not JSON ({exc})"
        raise ConfigError(path, detail) from None


def mark_regularization(ds: Dataset, on: bool = True) -> DatasetMeta:
    """Mark (or with ``on=False`` unmark) ``ds`` as a regularization set; returns the saved settings."""
    with ds.lock():
        meta = read_meta(ds).model_copy(update={"regularization": on})
        atomic_write_text(ds.state_dir / META_FILE, meta.model_dump_json(indent=2) + "\n")
    return meta

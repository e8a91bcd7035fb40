"""The "train this" handoff: the one contract between TagPilot (writer) and TrainPilot (reader).

TagPilot writes ``datasets/<name>/.tagpilot/handoff.json`` when a dataset is exported or sent to
training; TrainPilot prefills a new profile from it. Both sides read it through :func:`read_handoff`, so
a file one accepts the other accepts too.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.tomlconfig import validate_model

HANDOFF_FILE = Path(".tagpilot") / "handoff.json"


class DatasetHandoff(BaseModel):
    """``handoff.json``. Every field may be missing (an older or partial file); null means "not chosen".

    Unknown keys are ignored rather than refused: a newer TagPilot may add some, and the reader keeps working.
    """

    model_config = ConfigDict(extra="ignore")

    dataset: str | None = None
    image_dir: str | None = None  # absolute, or relative to the dataset folder or the workspace
    caption_extension: str | None = None
    num_images: int | None = Field(default=None, ge=0)
    captioned: int | None = Field(default=None, ge=0)
    trigger_word: str | None = None
    repeats: int | None = Field(default=None, ge=1)
    resolution: int | None = Field(default=None, ge=1)

    def to_dict(self) -> dict:
        """The fields the file holds (missing ones stay missing, nulls stay null)."""
        return self.model_dump(exclude_unset=True)


def handoff_path(dataset_dir: Path) -> Path:
    """Where ``dataset_dir``'s handoff lives."""
    return Path(dataset_dir) / HANDOFF_FILE


def read_handoff(dataset_dir: Path) -> DatasetHandoff | None:
    """The handoff of ``dataset_dir``, or None before the first one.

    A file that is not JSON, not an object, or holds a field of the wrong type raises ConfigError
    naming the file and the field.
    """
    path = handoff_path(dataset_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot be read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "expected a JSON object")
    return validate_model(path, DatasetHandoff, data)


def write_handoff(dataset_dir: Path, handoff: DatasetHandoff) -> dict:
    """Write ``handoff`` atomically (temp file + rename); returns what was written."""
    path = handoff_path(dataset_dir)
    data = handoff.to_dict()
    path.parent.mkdir(exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    return data

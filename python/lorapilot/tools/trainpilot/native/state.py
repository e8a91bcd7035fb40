"""Resumable training state: ``state-step{step:08d}/`` folders.

Each holds accelerate's state (optimizer, LR scheduler, grad scaler, every process's RNG states), the
adapters in peft layout (``lora_<part>.safetensors``, float32) and ``trainer_state.json`` (the step
and the settings a resume must match). A folder is written under a ``.partial`` name and renamed
when complete, so a killed run never leaves a half state that ``--resume auto`` would pick.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.fsutil import atomic_write_text

STATE_PREFIX = "state-step"
TRAINER_STATE = "trainer_state.json"
_STATE_NAME = re.compile(r"state-step(\d{8})")


def state_dir(output_dir: Path, step: int) -> Path:
    return output_dir / f"{STATE_PREFIX}{step:08d}"


def list_states(output_dir: Path) -> list[tuple[int, Path]]:
    """Complete state folders as (step, path), oldest first."""
    found = []
    if output_dir.is_dir():
        for path in output_dir.iterdir():
            m = _STATE_NAME.fullmatch(path.name)
            if m and (path / TRAINER_STATE).is_file():
                found.append((int(m[1]), path))
    return sorted(found)


def resolve_resume(arg: str | None, output_dir: Path) -> Path | None:
    """``None``: start fresh; ``auto``: the newest complete state or fresh; else that folder."""
    if arg is None:
        return None
    if arg == "auto":
        states = list_states(output_dir)
        return states[-1][1] if states else None
    path = Path(arg)
    if not (path / TRAINER_STATE).is_file():
        raise ConfigError(None, f"--resume: {path} is not a state folder (no {TRAINER_STATE})")
    return path


def read_trainer_state(path: Path) -> dict:
    try:
        return json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(path / TRAINER_STATE, f"unreadable: {exc}") from None


def check_compatible(saved: dict, current: dict, where: Path) -> None:
    """A state can only continue a run whose adapter has the same shape."""
    for key in ("family", "rank", "target_modules", "text_encoders_trained"):
        if saved.get(key) != current.get(key):
            raise ConfigError(
                where / TRAINER_STATE,
                f"{key} was {saved.get(key)!r} when saved, the config now says {current.get(key)!r}",
            )


def partial_dir(final: Path) -> Path:
    return final.with_name(final.name + ".partial")


def finish_state(partial: Path, final: Path, trainer_state: dict) -> None:
    """Write ``trainer_state.json`` into the finished partial folder and move it into place."""
    atomic_write_text(partial / TRAINER_STATE, json.dumps(trainer_state, indent=2, sort_keys=True) + "\n")
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)


def prune_states(output_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` state folders (resume data of this run, not user files)."""
    states = list_states(output_dir)
    removed = []
    for _, path in states[: max(0, len(states) - keep)]:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed

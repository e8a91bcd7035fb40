"""The one interface every trainer sits behind: render config → command → parse progress → find outputs."""

from __future__ import annotations

import os
import re
import signal
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lorapilot.kit.errors import ConflictError
from lorapilot.kit.fsutil import atomic_write_text

from ..profiles import Profile


@dataclass
class Issue:
    """One problem found before training: ``field`` names the profile field to fix."""

    field: str
    message: str
    level: Literal["error", "warning"] = "error"

    def to_dict(self) -> dict:
        return {"field": self.field, "message": self.message, "level": self.level}


@dataclass(frozen=True)
class TrainerLocation:
    """Where a trainer is installed: its environment (``bin/python``) and its source tree."""

    env: Path
    src: Path | None
    python_path: Path | None = None  # an explicit interpreter (the lorapilot-train one) instead of env/bin/python

    @property
    def python(self) -> Path:
        return self.python_path or self.env / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.env / "bin" / name

    def can_import(self, module: str) -> bool | None:
        """Whether this installation's interpreter finds ``module`` (None: there is no interpreter to ask)."""
        import subprocess

        if not self.python.exists():
            return None
        probe = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 1)"
        try:
            return (
                subprocess.run([str(self.python), "-c", probe, module], capture_output=True, timeout=60).returncode == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            return None


@dataclass
class RunSpec:
    """One job as an adapter sees it: the profile plus resolved paths."""

    profile: Profile
    run_dir: Path  # rendered configs, the log, exit status
    models_dir: Path
    image_dir: Path
    location: TrainerLocation
    reg_image_dir: Path | None = None  # the profile's regularization set, when it names one
    resume: bool = False
    gpu_ids: list[str] = field(default_factory=list)
    tensorboard_root: Path | None = None  # outputs/tensorboard, which the TensorBoard service serves
    node_rank: str | None = None  # this machine's rank for launchers that need one (else $LORAPILOT_NODE_RANK)

    @property
    def output_dir(self) -> Path:
        return self.run_dir / "output"

    @property
    def tensorboard_dir(self) -> Path:
        root = self.tensorboard_root or self.run_dir
        return root / self.run_dir.name if self.tensorboard_root else root / "tensorboard"

    @property
    def name(self) -> str:
        return self.profile.name

    def model_file(self, rel: str | None) -> Path | None:
        return None if not rel else self.models_dir / rel


@dataclass
class Command:
    argv: list[str]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Progress:
    """What one log record says: a step report, or an event (sample/checkpoint/done) with a path."""

    step: int | None = None
    total: int | None = None
    loss: float | None = None
    lr: float | None = None
    its: float | None = None
    event: str | None = None
    path: str | None = None


@dataclass
class Outputs:
    checkpoints: list[tuple[int, Path]] = field(default_factory=list)  # (step, file), ascending
    samples: list[tuple[int, Path]] = field(default_factory=list)
    states: list[tuple[int, Path]] = field(default_factory=list)
    final: Path | None = None

    @property
    def latest_checkpoint(self) -> Path | None:
        return self.checkpoints[-1][1] if self.checkpoints else None

    @property
    def latest_state(self) -> tuple[int, Path] | None:
        return self.states[-1] if self.states else None


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def clean_record(text: str) -> str:
    """A log record without colour codes or surrounding blanks."""
    return _ANSI.sub("", text).strip()


def numbered(paths, pattern: re.Pattern) -> list[tuple[int, Path]]:
    """``(number, path)`` for each path whose name matches ``pattern``'s first group, ascending."""
    out = []
    for path in paths:
        m = pattern.search(path.name)
        if m:
            out.append((int(m.group(1)), path))
    return sorted(out, key=lambda item: (item[0], str(item[1])))


class TrainerAdapter(ABC):
    """A trainer behind TrainPilot's queue."""

    name: str
    title: str
    component: str  # the manifest / apps/<name> entry that holds its environment and source
    families: frozenset[str]
    supports_save_stop: bool = False  # can it save a checkpoint + state on request, then exit?
    selects_gpus: bool = False  # True: the command names its GPUs itself (no CUDA_VISIBLE_DEVICES from the queue)
    clip_families: frozenset[str] = frozenset()  # families it trains on video clips as well as images
    no_clips_reason: str = "trains on still images only"  # why it refuses a dataset holding clips
    stop_hint: str = ""

    def check(self, spec: RunSpec) -> list[Issue]:
        """Trainer-specific problems with the profile (beyond the common validation)."""
        return []

    def fit_issues(self, family: str, vram_gb: int | None = None, base: Path | None = None) -> list[Issue]:
        """Why this trainer cannot train ``family`` on the ``vram_gb`` tier or from ``base`` (a model file or
        diffusers folder), whatever the other settings; ``None`` skips that part.

        Validation reports these with the rest; the new-training flow asks before a profile exists.
        """
        return []

    @abstractmethod
    def render(self, spec: RunSpec) -> dict[str, str]:
        """The trainer's configuration files: ``{file name in run_dir: text}``."""

    @abstractmethod
    def command(self, spec: RunSpec) -> Command:
        """How to launch (or, with ``spec.resume``, resume) the run."""

    @abstractmethod
    def parse(self, record: str, spec: RunSpec) -> Progress | None:
        """Progress from one log record (a line or one ``\\r`` redraw), or None."""

    @abstractmethod
    def find_outputs(self, spec: RunSpec) -> Outputs:
        """Checkpoints, samples, resumable states and the final LoRA written so far."""

    def can_resume(self, spec: RunSpec) -> bool:
        return self.find_outputs(spec).latest_state is not None

    def write_config(self, spec: RunSpec) -> list[Path]:
        """Render and write the configuration files atomically into ``spec.run_dir``."""
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        spec.output_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in self.render(spec).items():
            path = spec.run_dir / name
            atomic_write_text(path, text)
            written.append(path)
        return written

    def request_save_stop(self, spec: RunSpec, pgid: int) -> None:
        """Ask the running trainer to save a checkpoint and its state, then exit."""
        raise ConflictError(f"{self.title} cannot save on request: {self.stop_hint} Cancel with kill instead.")


def signal_group(pgid: int, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to a whole process group (the launcher, the trainer and its workers)."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass

"""What a LoRA test grid renders: checkpoints × LoRA weights × prompts, with fixed seeds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from lorapilot.kit.errors import ConfigError, LorapilotError

# The native trainer's family names (kohya prefixes, pipelines) for TrainPilot's families.
RENDER_FAMILY = {"sd15": "sd1", "sd2": "sd2", "sdxl": "sdxl", "flux1": "flux1"}
DEFAULT_WEIGHTS = (0.6, 0.8, 1.0)
MAX_CELLS = 400  # a grid beyond this is almost certainly a typo (and hours of GPU time)


@dataclass(frozen=True)
class Checkpoint:
    label: str  # "step 200", "final"
    step: int | None
    path: Path


@dataclass
class GridPlan:
    """Everything one grid render needs; rows are (checkpoint, weight), columns are prompts."""

    job_id: int | None
    name: str
    family: str  # TrainPilot's family id (sd15, sdxl, flux1 ...)
    base: Path
    checkpoints: list[Checkpoint]
    weights: list[float]
    prompts: list[str]
    negative: str = ""
    seed: int = 1234
    steps: int = 20
    guidance: float = 7.0
    width: int = 512
    height: int = 512
    extras: dict = field(default_factory=dict)  # FLUX.1 components (clip_l, t5xxl, ae) for the ComfyUI graph

    @property
    def render_family(self) -> str:
        try:
            return RENDER_FAMILY[self.family]
        except KeyError:
            raise LorapilotError(
                f"a test grid cannot render family {self.family!r} yet (sd15, sd2, sdxl, flux1)"
            ) from None

    def seed_of(self, prompt_index: int) -> int:
        """Prompt ``i`` always uses ``seed + i``: the same noise in every row, so rows compare."""
        return self.seed + prompt_index

    def cells(self) -> list[tuple[int, int, int]]:
        """(checkpoint index, weight index, prompt index) in render order (one checkpoint loaded at a time)."""
        return [
            (c, w, p)
            for c in range(len(self.checkpoints))
            for w in range(len(self.weights))
            for p in range(len(self.prompts))
        ]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["base"] = str(self.base)
        data["checkpoints"] = [{"label": c.label, "step": c.step, "path": str(c.path)} for c in self.checkpoints]
        return data


def parse_weights(text: str) -> list[float]:
    """``"0.6,0.8,1.0"`` → [0.6, 0.8, 1.0]; a clear error naming the bad value."""
    weights = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(None, f"--weights: {part!r} is not a number (expected e.g. 0.6,0.8,1.0)") from None
        if not -4.0 <= value <= 4.0:
            raise ConfigError(None, f"--weights: {value} is outside -4..4")
        weights.append(value)
    if not weights:
        raise ConfigError(None, "--weights: give at least one weight (e.g. 0.6,0.8,1.0)")
    return weights


def read_prompts(path: Path) -> list[str]:
    """One prompt per line (blank lines and ``#`` comments skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read prompts: {exc}") from exc
    prompts = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise ConfigError(path, "no prompts in the file (one per line)")
    return prompts


def select_checkpoints(saved: list[tuple[int, Path]], final: Path | None, which: str) -> list[Checkpoint]:
    """``all`` (every saved step and the final file), ``last`` (the final file, else the newest), or ``N``
    (N checkpoints spread evenly, always ending with the newest)."""
    items = [Checkpoint(f"step {step}", step, path) for step, path in sorted(saved)]
    if final is not None:
        items.append(Checkpoint("final", None, final))
    if not items:
        raise LorapilotError("the job has no saved LoRA (no checkpoint and no final file) to render a grid from")
    if which == "all":
        return items
    if which == "last":
        return items[-1:]
    try:
        count = int(which)
    except ValueError:
        raise ConfigError(None, f"--checkpoints: {which!r} is not all, last or a number") from None
    if count < 1:
        raise ConfigError(None, f"--checkpoints: {count} must be at least 1")
    if count >= len(items):
        return items
    picks = (
        sorted({round(i * (len(items) - 1) / max(count - 1, 1)) for i in range(count)})
        if count > 1
        else [len(items) - 1]
    )
    return [items[i] for i in picks]


def check_size(plan: GridPlan) -> None:
    cells = len(plan.cells())
    if not cells:
        raise ConfigError(None, "the grid is empty: it needs a checkpoint, a weight and a prompt")
    if cells > MAX_CELLS:
        raise ConfigError(
            None,
            f"the grid would have {cells} images (more than {MAX_CELLS}); pick fewer checkpoints, weights or prompts",
        )

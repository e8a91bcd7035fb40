"""Where the new-training flow starts: from what this machine and workspace have.

The family of the base models present, a trainer that is installed (and trains that family), the
tier of the GPU found (the CPU preset without one: the native trainer, quick, the family's
smallest tier; it trains in float32 on the CPU, slowly). Each choice says why it was made.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from lorapilot.kit.nvml import largest_gpu_memory_gib
from lorapilot.stack.context import Context

from .adapters import ADAPTERS
from .families import FAMILIES, vram_tier
from .runspec import trainer_location
from .training_bases import list_base_models
from .validate import install_issues

FALLBACK_FAMILY = "sdxl"


@dataclass
class FlowDefaults:
    family: str
    trainer: str
    quality: str
    vram_gb: int
    cpu: bool  # no GPU found: the CPU preset
    gpu_memory_gib: float | None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _installed(ctx: Context, name: str) -> bool:
    adapter = ADAPTERS[name]
    return not install_issues(adapter, trainer_location(ctx, adapter))


def flow_defaults(ctx: Context, nvml=None) -> FlowDefaults:
    """The flow's starting choices for ``ctx`` (``nvml`` stands in for pynvml in tests)."""
    reasons = []
    models = list_base_models(ctx)
    counts = Counter(m.family for m in models if m.family in FAMILIES)
    if counts:
        family = max(counts, key=lambda f: (counts[f], -list(FAMILIES).index(f)))
        reasons.append(
            f"{FAMILIES[family].title}: the family of {counts[family]} of the {len(models)} base models in models/"
        )
    else:
        family = FALLBACK_FAMILY
        reasons.append(f"{FAMILIES[family].title}: no base model in models/ yet (pull one: lorapilot models pull)")

    memory = largest_gpu_memory_gib(nvml)
    cpu = memory is None
    takes = [name for name, adapter in ADAPTERS.items() if family in adapter.families]
    if cpu and "native" in takes:
        takes.remove("native")
        takes.insert(0, "native")  # the one trainer here that runs on a CPU
    installed = [name for name in takes if _installed(ctx, name)]
    if installed:
        trainer = installed[0]
        reasons.append(
            f"{ADAPTERS[trainer].title}: installed" + (" and runs on the CPU" if cpu and trainer == "native" else "")
        )
    else:
        trainer = takes[0] if takes else "kohya"
        command = "native-trainer" if trainer == "native" else ADAPTERS[trainer].component
        reasons.append(
            f"{ADAPTERS[trainer].title}: no trainer for this family is installed yet (lorapilot install {command})"
        )

    smallest = FAMILIES[family].min_vram
    if cpu:
        vram, quality = smallest, "quick"
        reasons.append("no NVIDIA GPU found: the CPU preset (quick, the smallest tier; float32 on the CPU, slow)")
    else:
        vram, quality = max(vram_tier(int(memory + 0.5)), smallest), "regular"
        reasons.append(f"the GPU has {memory:.0f} GiB: the {vram} GB tier")
    return FlowDefaults(family, trainer, quality, vram, cpu, memory, reasons)

"""The shared Python + torch + CUDA stack (components/stack.toml) and whether this host's driver runs it.

Every environment is locked to one torch built for one CUDA version; that CUDA needs a minimum NVIDIA
driver. ``lorapilot up`` and ControlPilot's dashboard warn, naming both versions, when NVML reports an
older driver (the services would start and then fail on their first CUDA call).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from lorapilot.kit.nvml import driver_version
from lorapilot.kit.tomlconfig import load_toml_model
from lorapilot.stack.components.registry import default_components_dir

STACK_FILENAME = "stack.toml"


class CudaStack(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    python: str
    cuda: str
    min_driver: str = Field(alias="min-driver", pattern=r"^\d+(\.\d+)*$")
    pins: dict[str, str]

    @property
    def torch(self) -> str:
        return self.pins["torch"]


def load_cuda_stack(components_dir: Path | None = None) -> CudaStack:
    """The stack described by ``<components>/stack.toml``; ConfigError naming the file when it is wrong."""
    path = (components_dir or default_components_dir()) / STACK_FILENAME
    return load_toml_model(path, CudaStack)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.strip().split(".") if part.isdigit())


def driver_is_older(driver: str, needed: str) -> bool:
    """True when ``driver`` (NVML's text, e.g. "535.104.05") is older than ``needed``."""
    return _version(driver) < _version(needed)


def read_driver_version(nvml=None) -> str | None:
    """The host's NVIDIA driver version through NVML, or None without NVML/driver."""
    return driver_version(nvml)


def driver_warning(driver: str | None, stack: CudaStack) -> str | None:
    """The warning for ``driver`` (None when there is no driver or it is new enough)."""
    if not driver or not driver_is_older(driver, stack.min_driver):
        return None
    return (
        f"NVIDIA driver {driver} is older than {stack.min_driver}, which LoRA Pilot's stack needs "
        f"(torch {stack.torch} built for CUDA {stack.cuda}): GPU work will fail until the host driver is updated."
    )


def host_driver_warning(nvml=None, components_dir: Path | None = None) -> str | None:
    """``driver_warning`` for this host; None when the stack file or the driver cannot be read."""
    driver = read_driver_version(nvml)
    if driver is None:
        return None
    try:
        stack = load_cuda_stack(components_dir)
    except Exception:  # noqa: BLE001 - a broken stack file must not stop `up`; tests cover the file itself
        return None
    return driver_warning(driver, stack)

"""Trainer adapters, one module each, behind :class:`TrainerAdapter`."""

from __future__ import annotations

from lorapilot.kit.errors import LorapilotError

from .ai_toolkit import AIToolkitAdapter
from .base import Command, Issue, Outputs, Progress, RunSpec, TrainerAdapter, TrainerLocation
from .diffusion_pipe import DiffusionPipeAdapter
from .kohya import KohyaAdapter
from .native import NativeAdapter

ADAPTERS: dict[str, TrainerAdapter] = {
    a.name: a for a in (KohyaAdapter(), AIToolkitAdapter(), DiffusionPipeAdapter(), NativeAdapter())
}


def get_adapter(name: str) -> TrainerAdapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise LorapilotError(f"unknown trainer {name!r}; known: {', '.join(ADAPTERS)}") from None


__all__ = [
    "ADAPTERS",
    "Command",
    "Issue",
    "Outputs",
    "Progress",
    "RunSpec",
    "TrainerAdapter",
    "TrainerLocation",
    "get_adapter",
]

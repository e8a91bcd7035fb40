"""The shared model store: inspect, hash, download, and wire it into every app.

Modules: :mod:`.safetensors_header` (header-only reader), :mod:`.detect`
(architecture and kind from key patterns), :mod:`.inspect` (summaries and
full reports), :mod:`.hashing` + :mod:`.cache` (sha256 / AutoV2 / addnet,
cached in SQLite), :mod:`.store` (list, move, rename, delete, restore),
:mod:`.download` + :mod:`.sources` (pulls with resume and checksums),
:mod:`.invokeai` (in-place registration), :mod:`.api` and :mod:`.cli`.
"""

from __future__ import annotations

import importlib

# The facade other tools use (TrainPilot asks the store about base models and files the LoRAs it
# trains). Loaded on first use: importing the package stays cheap.
_FACADE = {
    "ModelStore": "store",
    "describe_diffusers": "store",
    "summarize": "inspect",
    "hash_file": "hashing",
    "register_new_models": "invokeai",
}
__all__ = sorted(_FACADE)


def __getattr__(name: str):
    module = _FACADE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

"""The component registry: ``components/<name>/component.toml`` plus user overrides."""

from lorapilot.stack.components.registry import (
    Component,
    Registry,
    default_components_dir,
    load_registry,
    load_spec,
    topological_order,
)
from lorapilot.stack.components.spec import PLACEHOLDERS, ComponentSpec

__all__ = [
    "PLACEHOLDERS",
    "Component",
    "ComponentSpec",
    "Registry",
    "default_components_dir",
    "load_registry",
    "load_spec",
    "topological_order",
]

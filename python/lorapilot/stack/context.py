"""Everything a command needs about one workspace, loaded once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from lorapilot.stack.component_paths import Manifest, load_manifest
from lorapilot.stack.components import Registry, load_registry
from lorapilot.stack.settings import Settings, load_settings
from lorapilot.stack.workspace.layout import Workspace, resolve_root


@dataclass
class Context:
    """A workspace plus its settings, component registry and manifest."""

    workspace: Workspace
    manifest: Manifest
    components_dir: Path | None = None

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.workspace.settings_file)

    @cached_property
    def registry(self) -> Registry:
        return load_registry(self.settings, self.workspace.settings_file, self.components_dir)

    def plan(self, gpu_available: bool | None = None):
        """The resolved processes of this workspace (see :mod:`lorapilot.stack.plan`)."""
        from lorapilot.stack.plan import build_plan

        return build_plan(self.workspace, self.registry, self.manifest, gpu_available)


def load_context(workspace: str | os.PathLike | None = None, manifest: str | None = None) -> Context:
    """Resolve the workspace root and load its manifest; settings load lazily."""
    return Context(workspace=Workspace(resolve_root(workspace)), manifest=load_manifest(manifest))

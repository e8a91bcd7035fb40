"""``config/models.toml``: named models for one-click pulls.

The workspace file is the user's; when it is missing, the copy shipped with
LoRA Pilot (``default_models.toml``) is used, and ``lorapilot init`` writes it
out once so it can be edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lorapilot.kit.errors import ConfigError, NotFoundError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.tomlconfig import load_toml_model
from lorapilot.stack.workspace.layout import MODEL_FOLDERS, Workspace

FILENAME = "models.toml"


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    type: str | None = None
    description: str = ""
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    requires: list[str] = Field(default_factory=list)

    @field_validator("type")
    @classmethod
    def _known_folder(cls, value: str | None) -> str | None:
        if value is not None and value not in MODEL_FOLDERS:
            raise ValueError(f"must be a store folder: {', '.join(MODEL_FOLDERS)}")
        return value


class ManifestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, ManifestEntry] = Field(default_factory=dict)


@dataclass
class ModelsManifest:
    path: Path
    models: dict[str, ManifestEntry]

    def get(self, name: str) -> ManifestEntry:
        try:
            return self.models[name]
        except KeyError:
            raise NotFoundError(
                f"{self.path}: no model named {name!r}; known: {', '.join(self.models) or 'none'}"
            ) from None

    def with_requirements(self, name: str) -> list[str]:
        """``name`` and everything it requires, requirements first, each once."""
        order: list[str] = []

        def visit(item: str, chain: tuple[str, ...]) -> None:
            if item in chain:
                raise ConfigError(self.path, f"models.{name}.requires: cycle {' -> '.join(chain + (item,))}")
            if item in order:
                return
            entry = self.get(item)
            for dep in entry.requires:
                visit(dep, chain + (item,))
            order.append(item)

        visit(name, ())
        return order


def default_text() -> str:
    return resources.files("lorapilot.tools.models").joinpath("default_models.toml").read_text(encoding="utf-8")


def manifest_path(ws: Workspace) -> Path:
    return ws.config / FILENAME


def ensure_manifest(ws: Workspace) -> tuple[Path, str]:
    """Write the shipped manifest to ``config/models.toml`` unless the user has one."""
    path = manifest_path(ws)
    if path.exists():
        return path, "kept"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, default_text())
    return path, "created"


def load_manifest(ws: Workspace) -> ModelsManifest:
    path = manifest_path(ws)
    if path.exists():
        data = load_toml_model(path, ManifestFile)
    else:
        import tomllib

        data = ManifestFile.model_validate(tomllib.loads(default_text()))
    manifest = ModelsManifest(path=path, models=dict(data.models))
    for name, entry in manifest.models.items():
        for dep in entry.requires:
            if dep not in manifest.models:
                raise ConfigError(path, f"models.{name}.requires: unknown model {dep!r}")
    return manifest

"""The shared workspace tree every component reads and writes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.errors import WorkspaceError

# ComfyUI's folder names (folder_paths.py), the canonical names of the model store.
MODEL_FOLDERS = (
    "checkpoints",
    "configs",
    "loras",
    "vae",
    "text_encoders",
    "clip",
    "diffusion_models",
    "unet",
    "clip_vision",
    "style_models",
    "embeddings",
    "diffusers",
    "vae_approx",
    "controlnet",
    "t2i_adapter",
    "gligen",
    "upscale_models",
    "latent_upscale_models",
    "hypernetworks",
    "photomaker",
    "classifiers",
    "model_patches",
    "audio_encoders",
)

OUTPUT_FOLDERS = ("comfy", "invoke", "kohya", "ai-toolkit", "diffusion-pipe", "trainpilot", "tensorboard")

TOP_FOLDERS = ("models", "datasets", "outputs", "config", "logs", "apps", "cache")


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; nothing here touches the disk."""

    root: Path

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def generated(self) -> Path:
        return self.config / "generated"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def apps(self) -> Path:
        return self.root / "apps"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def trash(self) -> Path:
        return self.root / ".trash"

    @property
    def settings_file(self) -> Path:
        return self.config / "lorapilot.toml"

    @property
    def secrets_file(self) -> Path:
        return self.config / "secrets.env"

    def state_dir(self, component: str) -> Path:
        """A component's private state folder, ``apps/<name>``."""
        return self.apps / component

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"


def resolve_root(explicit: str | os.PathLike | None = None) -> Path:
    """Pick the workspace root.

    Order: ``--workspace``; ``LORAPILOT_WORKSPACE``; ``/workspace`` when it
    exists and is writable; ``~/lorapilot``.
    """
    if explicit:
        return Path(explicit).expanduser().absolute()
    env = os.environ.get("LORAPILOT_WORKSPACE")
    if env:
        return Path(env).expanduser().absolute()
    default = Path("/workspace")
    if default.is_dir() and os.access(default, os.W_OK | os.X_OK):
        return default
    return Path.home() / "lorapilot"


def check_usable(root: Path) -> None:
    """Fail with a clear message when ``root`` cannot hold a workspace."""
    probe = root
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise WorkspaceError(f"workspace path {probe} is a file, not a directory")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        if probe == root:
            raise WorkspaceError(f"workspace {root} is not writable")
        raise WorkspaceError(f"cannot create workspace {root}: {probe} is not writable")


def ensure_layout(ws: Workspace) -> list[Path]:
    """Create every folder of the layout; returns the folders that were created."""
    check_usable(ws.root)
    wanted = [ws.root]
    wanted += [ws.root / name for name in TOP_FOLDERS]
    wanted += [ws.models / name for name in MODEL_FOLDERS]
    wanted += [ws.outputs / name for name in OUTPUT_FOLDERS]
    wanted += [ws.generated, ws.cache / "thumbs", ws.cache / "huggingface"]
    created = []
    for folder in wanted:
        if folder.is_dir():
            continue
        if folder.exists():
            raise WorkspaceError(f"{folder} exists but is not a directory")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except PermissionError:
            raise WorkspaceError(f"cannot create {folder}: permission denied (is the workspace read-only?)") from None
        except OSError as exc:
            raise WorkspaceError(f"cannot create {folder}: {exc.strerror}") from None
        created.append(folder)
    return created
